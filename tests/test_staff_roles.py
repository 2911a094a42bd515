"""What register staff may do in the admin, per role (SPEC §1, §3, §14; STYLE 5).

The roles are the permission groups of migration register.0013; where a role works is the
register's staff list. One fixture builds nl's staff in each role, a superuser and be's service
desk, and objects in both registers; the table says what each gets. Another register's object is
a 404; a page outside the role is a 403; the admin of a register one is not staff of sends to its
login. Users and groups are the superusers' alone: editing them grants any right anywhere.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django_scopes import scope, scopes_disabled

from complaints.models import CaseKind
from complaints.services import case_file
from register.models import BlockedNumber, Channel, RegisterHost
from register.roles import ACCOUNTING, COMPLAINTS, SERVICE_DESK
from tests.factories import CampaignFactory, MembershipFactory, UserFactory, get_register
from tests.test_access import paid_order

NL_HOST = "nl.localhost"
LOGIN = "login"  # 302 to the admin's login page
ROLES = ("superuser", "service_desk", "complaints", "accounting", "no_role", "staff_of_be")

pytestmark = pytest.mark.django_db


def staff_page(**allowed):
    """A page refused (403) to every nl role not named, and to be's staff by the login."""
    expect = {role: 403 for role in ROLES}
    expect.update(superuser=200, staff_of_be=LOGIN)
    expect.update(allowed)
    return expect


def superusers_only():
    return staff_page()


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict
    data: dict | None = None
    host: str = NL_HOST

    def __str__(self) -> str:
        return f"{self.method} {self.host}{self.path}"


ADMIN = "/admin"
NUMBERS = f"{ADMIN}/register/blockednumber/"
CASES = f"{ADMIN}/complaints/case/"
INVOICES = f"{ADMIN}/billing/invoice/"

TABLE = [
    Row("GET", f"{ADMIN}/", staff_page(**dict.fromkeys(ROLES[1:5], 200))),
    # The service desk: numbers (searched any way they are written) and their history.
    Row("GET", f"{NUMBERS}?q=06-12345678", staff_page(service_desk=200)),
    Row("GET", f"{NUMBERS}{{number_of_nl}}/change/", staff_page(service_desk=200)),
    Row("GET", f"{NUMBERS}{{number_of_be}}/change/", staff_page(superuser=404, service_desk=404)),
    # It registers, changes and unblocks numbers for a caller on the phone.
    Row("GET", f"{NUMBERS}add/", staff_page(service_desk=200)),
    Row("GET", f"{NUMBERS}{{number_of_nl}}/phone-change/", staff_page(service_desk=200)),
    Row("GET", f"{NUMBERS}{{number_of_nl}}/phone-unblock/", staff_page(service_desk=200)),
    Row(
        "GET",
        f"{NUMBERS}{{number_of_be}}/phone-unblock/",
        staff_page(superuser=404, service_desk=404),
    ),
    Row("GET", f"{ADMIN}/register/registerevent/", staff_page(service_desk=200)),
    Row("GET", f"{ADMIN}/register/blockrequest/", staff_page(service_desk=200)),
    Row("GET", f"{ADMIN}/campaigns/campaign/", staff_page(service_desk=200)),
    Row("GET", f"{ADMIN}/uploads/registrationfile/", staff_page(service_desk=200)),
    # Companies: everyone who deals with them reads them; nobody but superusers changes them.
    Row(
        "GET",
        f"{ADMIN}/licences/company/{{company_of_nl}}/change/",
        staff_page(service_desk=200, complaints=200, accounting=200),
    ),
    Row("GET", f"{ADMIN}/licences/company/add/", superusers_only()),
    Row("GET", f"{ADMIN}/licences/licence/", staff_page(service_desk=200, accounting=200)),
    # The complaints desk: cases, their steps, recording one from post or e-mail.
    Row("GET", f"{CASES}?q=Still+called", staff_page(complaints=200)),
    Row("GET", f"{CASES}{{case_of_nl}}/change/", staff_page(complaints=200)),
    Row("GET", f"{CASES}{{case_of_nl}}/step/acknowledge/", staff_page(complaints=200)),
    Row("GET", f"{CASES}add/", staff_page(complaints=200)),
    Row("GET", f"{CASES}{{case_of_be}}/change/", staff_page(superuser=404, complaints=404)),
    # The step looks the case up first: not in this register is a 404 whatever the role.
    Row(
        "GET",
        f"{CASES}{{case_of_be}}/step/acknowledge/",
        staff_page(**dict.fromkeys(ROLES[:5], 404)),
    ),
    # Accounting: orders and invoices, and credit notes (the action asks for a reason first).
    Row("GET", f"{ADMIN}/billing/order/", staff_page(accounting=200)),
    Row("GET", INVOICES, staff_page(accounting=200)),
    Row(
        "POST",
        INVOICES,
        staff_page(accounting=200),
        data={"action": "issue_credit_notes", "_selected_action": ["{invoice_of_nl}"]},
    ),
    # Part of an invoice: a form, then the credit note (a redirect to it).
    Row("GET", f"{INVOICES}{{invoice_of_nl}}/credit/", staff_page(accounting=200)),
    Row(
        "POST",
        f"{INVOICES}{{invoice_of_nl}}/credit/",
        staff_page(superuser=302, accounting=302),
        data={"mode": "amount", "amount": "1.00", "reason": "Goodwill"},
    ),
    Row("GET", f"{ADMIN}/billing/supplierprofile/", staff_page(accounting=200)),
    # Users, groups and registers' staff and hosts: superusers only.
    Row("GET", f"{ADMIN}/auth/user/", superusers_only()),
    Row("GET", f"{ADMIN}/auth/user/{{member_of_nl}}/change/", superusers_only()),
    Row("GET", f"{ADMIN}/auth/group/", superusers_only()),
    Row(
        "GET",
        f"{ADMIN}/autocomplete/?app_label=licences&model_name=membership&field_name=user&term=e",
        superusers_only(),
    ),
    Row("GET", f"{ADMIN}/register/register/", superusers_only()),
    Row("GET", f"{ADMIN}/register/register/add/", superusers_only()),
    Row("GET", f"{ADMIN}/account/emailaddress/", superusers_only()),
    Row("GET", f"{ADMIN}/mfa/authenticator/", superusers_only()),
    Row("GET", f"{ADMIN}/django_celery_beat/periodictask/", superusers_only()),
    # The register's action log (audit trail): no role reads it yet; see register.0013.
    Row("GET", f"{ADMIN}/register/actionlog/", superusers_only()),
    # be's admin is for be's staff.
    Row(
        "GET",
        f"{ADMIN}/",
        {**dict.fromkeys(ROLES, LOGIN), "superuser": 200, "staff_of_be": 200},
        host="be.localhost",
    ),
    Row(
        "GET",
        f"{NUMBERS}{{number_of_nl}}/change/",
        {**dict.fromkeys(ROLES, LOGIN), "superuser": 404, "staff_of_be": 404},
        host="be.localhost",
    ),
    # Last, as it changes the register: the service desk unblocks on the consumer's request.
    Row(
        "POST",
        NUMBERS,
        staff_page(superuser=302, service_desk=302),
        data={"action": "unblock", "_selected_action": ["{number_of_nl}"]},
    ),
]


def staff_of(register, *roles: str, **fields):
    user = UserFactory(is_staff=True, **fields)
    user.groups.set(Group.objects.filter(name__in=roles))
    register.staff.add(user)
    return user


@pytest.fixture
def world(fake_mollie, media_root, monkeypatch):
    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", lambda invoice_id: None)
    nl, be = get_register("nl"), get_register("be")
    users = {
        "superuser": UserFactory(is_staff=True, is_superuser=True),
        "service_desk": staff_of(nl, SERVICE_DESK),
        "complaints": staff_of(nl, COMPLAINTS),
        "accounting": staff_of(nl, ACCOUNTING),
        "no_role": staff_of(nl),
        "staff_of_be": staff_of(be, SERVICE_DESK, COMPLAINTS, ACCOUNTING),
    }
    membership = MembershipFactory(company__register=nl)
    _order, invoice = paid_order(fake_mollie, CampaignFactory(company=membership.company))
    with scopes_disabled():
        numbers = {
            slug: BlockedNumber.objects.create(
                register=register, number=number, registered_on="2024-01-01", channel=Channel.WEB
            )
            for slug, register, number in [("nl", nl, 31612345678), ("be", be, 32471234567)]
        }
    cases = {slug: _case_in(register) for slug, register in [("nl", nl), ("be", be)]}
    ids = {
        "number_of_nl": numbers["nl"].pk,
        "number_of_be": numbers["be"].pk,
        "case_of_nl": cases["nl"].pk,
        "case_of_be": cases["be"].pk,
        "company_of_nl": membership.company.pk,
        "member_of_nl": membership.user.pk,
        "invoice_of_nl": invoice.pk,
    }
    return {"users": users, "ids": ids}


def _case_in(register):
    with scope(register=register):
        return case_file(
            register=register,
            kind=CaseKind.REQUEST,
            subject="Still called",
            body="A company keeps calling me.",
            filer_email="jan@example.com",
            channel="portal",
            language="en",
        )


def outcome(response) -> int | str:
    if response.status_code == 302 and response["Location"].startswith("/admin/login/"):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_answer_each_staff_role_as_the_table_says(world, role, monkeypatch):
    monkeypatch.setattr("complaints.tasks.letter_deliver.delay", lambda letter_id: None)
    client = Client()
    client.force_login(world["users"][role])
    got, expected = {}, {}
    for row in TABLE:
        path = row.path.format(**world["ids"])
        data = {
            key: [item.format(**world["ids"]) for item in value]
            if isinstance(value, list)
            else value
            for key, value in (row.data or {}).items()
        }
        response = getattr(client, row.method.lower())(path, data, HTTP_HOST=row.host)
        got[str(row)], expected[str(row)] = outcome(response), row.expect[role]
    assert got == expected


# The rules that the table cannot show by status alone.


@pytest.fixture
def register_keeper(nl):
    """nl staff given every permission on registers and users, as a careless superuser might."""
    user = staff_of(nl, SERVICE_DESK)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["register", "auth"])
    )
    return user


def register_form(register, **changes) -> dict:
    with scopes_disabled():
        hosts = list(register.hosts.all())
    data = {
        "slug": register.slug,
        "name": register.name,
        "operator": register.operator,
        "operator_address": register.operator_address,
        "support_email": register.support_email,
        "country": register.country,
        "time_zone": register.time_zone,
        "categories": ",".join(register.categories),
        "languages": ",".join(register.languages),
        "texts": "{}",
        "confirmation_hours": register.confirmation_hours,
        "max_numbers_per_request": register.max_numbers_per_request,
        "use_period_days": register.use_period_days,
        "vat_rate": register.vat_rate,
        "liberation_day_off": register.liberation_day_off,
        "calling_weekday_from": "09:00",
        "calling_weekday_until": "22:00",
        "calling_saturday_from": "10:00",
        "calling_saturday_until": "16:00",
        "calling_short_days": ",".join(register.calling_short_days),
        "calling_short_day_until": "18:30",
        "staff": [user.pk for user in register.staff.all()],
        "hosts-TOTAL_FORMS": len(hosts),
        "hosts-INITIAL_FORMS": len(hosts),
        "hosts-MIN_NUM_FORMS": 1,
        "hosts-MAX_NUM_FORMS": 1000,
    }
    for index, host in enumerate(hosts):
        data[f"hosts-{index}-id"] = host.pk
        data[f"hosts-{index}-register"] = register.pk
        data[f"hosts-{index}-hostname"] = host.hostname
        data[f"hosts-{index}-primary"] = "on" if host.primary else ""
    data.update(changes)
    return data


def test_register_staff_change_neither_staff_nor_host_names(client, nl, register_keeper):
    outsider = UserFactory(is_staff=True)
    client.force_login(register_keeper)
    url = f"/admin/register/register/{nl.pk}/change/"

    page = client.get(url, HTTP_HOST=NL_HOST, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        url,
        register_form(
            nl,
            name="Renamed",
            staff=[register_keeper.pk, outsider.pk],
            **{"hosts-0-hostname": "evil.example"},
        ),
        HTTP_HOST=NL_HOST,
    )

    assert page.status_code == 200
    assert 'name="staff"' not in page.text
    assert 'name="hosts-0-hostname"' not in page.text
    assert response.status_code == 302
    nl.refresh_from_db()
    assert nl.name == "Renamed"
    assert not nl.staff.filter(pk=outsider.pk).exists()
    assert nl.hostnames == ["nl.localhost"]


def test_register_staff_see_only_the_host_s_register(client, nl, be, register_keeper):
    be.staff.add(register_keeper)
    client.force_login(register_keeper)
    listing = client.get("/admin/register/register/", HTTP_HOST=NL_HOST)
    assert nl.name in listing.text
    assert be.name not in listing.text
    assert (
        client.get(f"/admin/register/register/{be.pk}/change/", HTTP_HOST=NL_HOST).status_code
        == 404
    )


def test_register_staff_with_user_permissions_still_cannot_make_a_superuser(
    client, nl, register_keeper
):
    client.force_login(register_keeper)
    response = client.post(
        f"/admin/auth/user/{register_keeper.pk}/change/",
        {"username": register_keeper.username, "is_staff": "on", "is_superuser": "on"},
        HTTP_HOST=NL_HOST,
    )
    assert response.status_code == 403
    register_keeper.refresh_from_db()
    assert not register_keeper.is_superuser


def superuser_saves_hosts(client, register, **hosts):
    """A superuser saves the register's page with a second host name as given."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client.post(
        f"/admin/register/register/{register.pk}/change/",
        register_form(register, **{"hosts-TOTAL_FORMS": 2, **hosts}),
        HTTP_HOST=NL_HOST,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_a_host_name_of_another_register_is_a_form_error(client, nl):
    response = superuser_saves_hosts(client, nl, **{"hosts-1-hostname": "BE.localhost"})
    assert response.status_code == 200
    assert "Another register answers on this host name already." in response.text
    assert list(
        RegisterHost.objects.filter(hostname="be.localhost").values_list(
            "register__slug", flat=True
        )
    ) == ["be"]


def test_a_superuser_chooses_a_register_s_staff_among_staff_users(client, nl):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    customer = MembershipFactory(company__register=nl).user
    colleague = UserFactory(is_staff=True)
    page = client.get(f"/admin/register/register/{nl.pk}/change/", HTTP_HOST=NL_HOST).text
    assert f'value="{colleague.pk}"' in page
    assert f'value="{customer.pk}"' not in page


def test_reading_invoices_is_not_enough_to_credit_one(client, world, nl):
    reader = staff_of(nl)
    reader.user_permissions.set(Permission.objects.filter(codename="view_invoice"))
    client.force_login(reader)
    response = client.post(
        INVOICES,
        {"action": "issue_credit_notes", "_selected_action": [world["ids"]["invoice_of_nl"]]},
        HTTP_HOST=NL_HOST,
    )
    assert response.status_code == 302  # back to the list: "No action selected."
    assert "issue_credit_notes" not in client.get(INVOICES, HTTP_HOST=NL_HOST).text


def test_a_register_keeps_exactly_one_primary_host_name(client, nl):
    response = superuser_saves_hosts(
        client, nl, **{"hosts-1-hostname": "bel-me-niet.example", "hosts-1-primary": "on"}
    )
    assert response.status_code == 200
    assert "Mark exactly one host name as primary." in response.text
    assert nl.hostnames == ["nl.localhost"]
