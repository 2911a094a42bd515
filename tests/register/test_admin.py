"""The register in the staff admin: per-register access, number search, service-desk unblock."""

import io

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django_scopes import scopes_disabled

from register.bulk import register_import
from register.models import BlockedNumber, Channel, EventAction, RegisterEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_nl(nl):
    user = get_user_model().objects.create_user(
        username="desk@example.com", password="pw-desk-2026", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="register"))
    nl.staff.add(user)
    return user


@pytest.fixture
def registrations(nl, be):
    with scopes_disabled():
        BlockedNumber.objects.create(
            number=31612345678, register=nl, registered_on="2020-01-01", channel=Channel.PHONE
        )
        BlockedNumber.objects.create(
            number=31201234567, register=nl, registered_on="2021-01-01", channel=Channel.IMPORT
        )
        BlockedNumber.objects.create(
            number=32471234567, register=be, registered_on="2021-01-01", channel=Channel.WEB
        )


@pytest.mark.parametrize(
    ("host", "status"), [("nl.localhost", 200), ("be.localhost", 302)], ids=["own", "other"]
)
def test_staff_see_only_the_admin_of_their_register(client, staff_nl, host, status):
    client.force_login(staff_nl)
    assert client.get("/admin/", HTTP_HOST=host).status_code == status


def test_the_number_list_shows_only_the_hosts_register(client, staff_nl, registrations):
    client.force_login(staff_nl)
    page = client.get("/admin/register/blockednumber/", HTTP_HOST="nl.localhost").text
    assert "+31 6 12345678" in page
    assert "+32 471" not in page


@pytest.mark.parametrize("query", ["06-12345678", "+31 6 1234 5678", "0031612345678"])
def test_numbers_are_found_however_they_are_written(client, staff_nl, registrations, query):
    client.force_login(staff_nl)
    response = client.get("/admin/register/blockednumber/", {"q": query}, HTTP_HOST="nl.localhost")
    assert "+31 6 12345678" in response.text
    assert "+31 20" not in response.text


def test_the_service_desk_unblocks_with_history_and_audit_log(client, staff_nl, registrations):
    client.force_login(staff_nl)
    response = client.post(
        "/admin/register/blockednumber/",
        {"action": "unblock", "_selected_action": ["31612345678"]},
        HTTP_HOST="nl.localhost",
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert not BlockedNumber.objects.filter(number=31612345678).exists()
        assert BlockedNumber.objects.filter(number=31201234567).exists()
        event = RegisterEvent.objects.get(number=31612345678)
    assert (event.action, event.channel) == (EventAction.UNBLOCK, Channel.ADMIN)
    assert LogEntry.objects.filter(action_flag=DELETION, object_id="31612345678").exists()


def test_a_numbers_history_shows_the_block_its_import_holds_then_later_events(client, staff_nl, nl):
    with scopes_disabled():
        register_import(register=nl, source=io.StringIO("31612345678;2020-01-01\n"))
        number = BlockedNumber.objects.get(number=31612345678)
        RegisterEvent.objects.create(
            register=nl,
            number=31612345678,
            action=EventAction.CHANGE,
            categories=1,
            channel=Channel.WEB,
        )
    client.force_login(staff_nl)

    page = client.get(
        f"/admin/register/blockednumber/{number.pk}/change/",
        HTTP_HOST="nl.localhost",
        HTTP_ACCEPT_LANGUAGE="en",
    ).text

    assert page.index("blocked (admin import)") < page.index("categories changed (website)")
    imports = client.get("/admin/register/registerimport/", HTTP_HOST="nl.localhost")
    assert imports.status_code == 200
