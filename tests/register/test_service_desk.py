"""The service desk registers callers in the admin, and the operator's IVR by the API with a staff
key (SPEC §5, issue #14): channel phone, the web's rules, the history."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django_scopes import scopes_disabled

from register.models import ActionLog, BlockedNumber, Channel, EventAction, RegisterEvent
from register.phone import Problem
from register.phone.messages import PROBLEM_MESSAGES
from register.roles import IVR, SERVICE_DESK
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db
NUMBERS = "/admin/register/blockednumber/"


def staff_of(register, *roles: str):
    user = UserFactory(is_staff=True)
    user.groups.set(Group.objects.filter(name__in=roles))
    register.staff.add(user)
    return user


@pytest.fixture
def desk(nl):
    client = Client()
    client.force_login(staff_of(nl, SERVICE_DESK))
    return client


def history(register, number):
    with scopes_disabled():
        return list(
            RegisterEvent.objects.filter(register=register, number=number)
            .order_by("id")
            .values_list("action", "channel", "categories")
        )


def test_service_desk_registers_changes_and_unblocks_a_caller_with_channel_phone(nl, desk):
    response = desk.post(
        f"{NUMBERS}add/",
        {
            "number": "06-12345678",
            "category_commercial": "yes",
            "category_ideal": "no",
            "category_charity": "no",
            "email": "",
        },
        HTTP_HOST="nl.localhost",
    )
    assert response.status_code == 302
    assert response["Location"] == f"{NUMBERS}31612345678/change/"
    with scopes_disabled():
        blocked = BlockedNumber.objects.get(number=31612345678)
    assert (blocked.channel, blocked.email) == (Channel.PHONE, "")
    assert blocked.categories == nl.category_mask(["commercial"])

    # The number's history in the admin says which channel; the admin speaks the register's.
    page = desk.get(response["Location"], HTTP_HOST="nl.localhost").text
    with translation.override("nl"):
        assert f"{EventAction.BLOCK.label} ({Channel.PHONE.label})" in page

    desk.post(
        f"{NUMBERS}31612345678/phone-change/",
        {"category_commercial": "yes", "category_ideal": "yes", "category_charity": "no"},
        HTTP_HOST="nl.localhost",
    )
    response = desk.post(
        f"{NUMBERS}31612345678/phone-unblock/", {"confirm": "on"}, HTTP_HOST="nl.localhost"
    )
    assert response.status_code == 302
    assert history(nl, 31612345678) == [
        (EventAction.BLOCK, Channel.PHONE, nl.category_mask(["commercial"])),
        (EventAction.CHANGE, Channel.PHONE, nl.category_mask(["commercial", "ideal"])),
        (EventAction.UNBLOCK, Channel.PHONE, None),
    ]
    with scopes_disabled():
        assert not BlockedNumber.objects.filter(number=31612345678).exists()
        assert list(
            ActionLog.objects.filter(object_id="31612345678")
            .order_by("pk")
            .values_list("action", flat=True)
        ) == ["number.blocked", "number.changed", "number.unblocked"]


def test_service_desk_keeps_the_web_rules(nl, desk):
    """A service number is refused with the web's message; a number already registered keeps its
    date, channel and e-mail and only gains categories."""
    response = desk.post(
        f"{NUMBERS}add/",
        {"number": "0800-1234567", "category_commercial": "yes", "category_ideal": "no"},
        HTTP_HOST="nl.localhost",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["number"] == [
        str(PROBLEM_MESSAGES[Problem.SERVICE] % {"number": "0800-1234567", "code": 31})
    ]
    with scopes_disabled():
        BlockedNumber.objects.create(
            register=nl,
            number=31612345678,
            categories=nl.category_mask(["ideal"]),
            registered_on="2024-01-01",
            channel=Channel.WEB,
            email="owner@example.com",
        )
    desk.post(
        f"{NUMBERS}add/",
        {
            "number": "+31 6 12345678",
            "category_commercial": "yes",
            "category_ideal": "no",
            "category_charity": "no",
            "email": "caller@example.com",
        },
        HTTP_HOST="nl.localhost",
    )
    with scopes_disabled():
        blocked = BlockedNumber.objects.get(number=31612345678)
    assert (str(blocked.registered_on), blocked.channel, blocked.email) == (
        "2024-01-01",
        Channel.WEB,
        "owner@example.com",
    )
    assert blocked.categories == nl.category_mask(["ideal", "commercial"])
    assert history(nl, 31612345678) == [(EventAction.CHANGE, Channel.PHONE, blocked.categories)]


@pytest.fixture
def ivr_key(nl, capsys):
    user = staff_of(nl, IVR)
    call_command("create_staff_api_key", register="nl", user=user.email)
    return user, capsys.readouterr().out.strip().splitlines()[-1]


def test_ivr_registers_a_number_by_the_phone_channel_with_its_staff_key(nl, ivr_key, client):
    user, key = ivr_key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_HOST": "nl.localhost"}
    response = client.post(
        "/api/v1/ivr/registrations",
        {"number": "0612345678", "categories": ["commercial"]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "registered"
    assert response.json()["categories"] == ["commercial"]
    again = client.post(
        "/api/v1/ivr/registrations",
        {"number": "+31612345678"},
        content_type="application/json",
        **auth,
    )
    assert again.status_code == 200
    assert again.json()["status"] == "widened"
    assert again.json()["categories"] == nl.categories
    assert history(nl, 31612345678) == [
        (EventAction.BLOCK, Channel.PHONE, nl.category_mask(["commercial"])),
        (EventAction.CHANGE, Channel.PHONE, -1),
    ]
    with scopes_disabled():
        assert BlockedNumber.objects.get(number=31612345678).channel == Channel.PHONE
        assert ActionLog.objects.filter(actor=user, action="number.blocked").count() == 2
    refused = client.post(
        "/api/v1/ivr/registrations",
        {"number": "0900-1234567"},
        content_type="application/json",
        **auth,
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_number")


def test_ivr_endpoint_takes_only_a_staff_key_of_the_ivr_role_in_its_register(
    nl, be, ivr_key, client
):
    user, key = ivr_key
    body = {"number": "0612345678"}
    post = lambda key, host="nl.localhost": client.post(  # noqa: E731
        "/api/v1/ivr/registrations",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_HOST=host,
    )
    # Another register's host does not know the key; a company's key is no staff key.
    assert post(key, "be.localhost").status_code == 401
    ApiKeyFactory(company__register=nl, raw="dnc_company_key")
    assert post("dnc_company_key").status_code == 401
    # The role taken away stops the key at once.
    user.groups.clear()
    assert post(key).status_code == 403
    with scopes_disabled():
        assert not BlockedNumber.objects.exists()


def test_a_staff_key_is_only_made_for_staff_with_the_ivr_role(nl):
    from django.core.management.base import CommandError

    desk_user = staff_of(nl, SERVICE_DESK)
    with pytest.raises(CommandError):
        call_command("create_staff_api_key", register="nl", user=desk_user.email)
