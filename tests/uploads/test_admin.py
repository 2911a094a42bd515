"""Registration files in the staff admin: counts per file, and lateness per company (SPEC §11)."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.factories import CompanyFactory, LicenceFactory
from tests.uploads.conftest import deliver

pytestmark = pytest.mark.django_db

ON_TIME = datetime.date(2026, 3, 16)
LATE = datetime.date(2026, 3, 17)
ROW = "0612345678|ALL|2026-03-02"


@pytest.fixture
def staff(nl, client):
    user = get_user_model().objects.create_user(
        username="desk@example.com", password="pw-desk-2026", is_staff=True
    )
    user.user_permissions.add(
        Permission.objects.get(codename="view_registrationfile"),
        Permission.objects.get(codename="view_registrationrow"),
    )
    nl.staff.add(user)
    client.force_login(user)
    return client


@pytest.fixture
def deliveries(nl):
    """Late Ltd delivers late twice out of three files, Punctual never, Slow once of one."""
    companies = {}
    for name in ("Late Ltd", "Punctual BV", "Slow BV"):
        companies[name] = CompanyFactory(register=nl, name=name)
        LicenceFactory(company=companies[name])
    deliver(companies["Late Ltd"], [ROW, "0612345679|ALL|2026-03-02"], on=LATE)
    deliver(companies["Late Ltd"], ["0612345680|ALL|2026-03-02"], on=LATE)
    deliver(companies["Late Ltd"], ["0612345681|ALL|2026-03-02"], on=ON_TIME)
    deliver(companies["Punctual BV"], ["0612345682|ALL|2026-03-02"], on=ON_TIME)
    deliver(companies["Slow BV"], ["0612345683|ALL|2026-03-02"], on=LATE)
    return companies


def cells(page: str, company: str) -> list[str]:
    row = re.search(rf"<tr>\s*<td>{re.escape(company)}</td>(.*?)</tr>", page, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]


def test_lateness_per_company_shows_who_delivers_late_and_how_often(staff, deliveries):
    response = staff.get(
        "/admin/uploads/registrationfile/lateness/",
        HTTP_HOST="nl.localhost",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    page = response.text
    # files, files with late rows, rows, late rows, share late
    assert cells(page, "Late Ltd")[:5] == ["3", "2", "4", "3", "75%"]
    assert cells(page, "Slow BV")[:5] == ["1", "1", "1", "1", "100%"]
    assert cells(page, "Punctual BV")[:6] == ["1", "0", "1", "0", "0%", "—"]
    assert page.index("Late Ltd") < page.index("Slow BV") < page.index("Punctual BV")


def test_the_file_list_filters_on_late_rows_per_company(staff, deliveries):
    late_ltd = deliveries["Late Ltd"]
    response = staff.get(
        f"/admin/uploads/registrationfile/?company__id__exact={late_ltd.pk}&late=yes",
        HTTP_HOST="nl.localhost",
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2


def test_lateness_is_not_shown_without_the_view_permission(nl, client):
    user = get_user_model().objects.create_user(
        username="other@example.com", password="pw-other-2026", is_staff=True
    )
    nl.staff.add(user)
    client.force_login(user)
    response = client.get("/admin/uploads/registrationfile/lateness/", HTTP_HOST="nl.localhost")
    assert response.status_code == 403
