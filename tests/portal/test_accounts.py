"""Accounts on django-allauth: sign-up with a confirmed address, log in and out, passwords,
invitations, and why nobody takes over an account by signing it up first (SPEC §3, §6, §17)."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django_scopes import scopes_disabled

from licences.models import Membership, Role
from tests.factories import UserFactory
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "korenschoof-brood-2026"
EMAIL = "jan@korenschoof.example"


@pytest.fixture
def sign_up(django_capture_on_commit_callbacks):
    def post(client, email="Jan@Korenschoof.example", password=PASSWORD):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/account/signup/", {"email": email, "password1": password, "password2": password}
            )

    return post


def code_in(message) -> str:
    return re.search(r"^([A-Z0-9]{3,}(?:-[A-Z0-9]+)*)$", message.body, re.MULTILINE).group(1)


def link_in(message) -> str:
    return re.search(r"http://nl\.localhost(/account/\S+/)", message.body).group(1)


def log_in(client, email=EMAIL, password=PASSWORD):
    return client.post("/account/login/", {"login": email, "password": password})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def confirmed(email=EMAIL) -> bool:
    return EmailAddress.objects.filter(email=email, verified=True).exists()


def test_sign_up_mails_a_code_and_only_typing_it_confirms_and_logs_in(anonymous, nl, sign_up):
    response = sign_up(anonymous)

    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert (user.username, user.email) == (EMAIL, EMAIL)
    assert [m.to for m in mail.outbox] == [[EMAIL]]
    assert not confirmed() and not logged_in(anonymous)
    # No link in the mail: a mail scanner opening it confirms nothing.
    assert "http" not in mail.outbox[0].body.split("\n\n")[2]

    page = anonymous.get(response["Location"])
    assert page.status_code == 200
    typed = anonymous.post(response["Location"], {"code": code_in(mail.outbox[0])})

    assert typed.status_code == 302
    assert confirmed() and logged_in(anonymous)


def test_a_wrong_code_confirms_nothing(anonymous, nl, sign_up):
    location = sign_up(anonymous)["Location"]

    anonymous.post(location, {"code": "WRONG1"})

    assert not confirmed() and not logged_in(anonymous)


def test_an_unconfirmed_account_cannot_log_in_without_the_mailed_code(
    anonymous, nl, sign_up, django_capture_on_commit_callbacks
):
    sign_up(anonymous)
    other = client_for()

    assert log_in(other).status_code == 429  # a second code within seconds: allauth's limit
    assert not logged_in(other)
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = log_in(other)

    assert response.status_code == 302
    assert not logged_in(other)
    assert other.get(response["Location"]).status_code == 200
    assert other.post(response["Location"], {"code": code_in(mail.outbox[-1])}).status_code == 302
    assert logged_in(other) and confirmed()


def test_a_wrong_password_says_nothing_about_the_account(anonymous, nl):
    UserFactory(email=EMAIL)

    response = log_in(anonymous, password="wrong")

    assert response.status_code == 200
    assert not logged_in(anonymous)
    assert "The email address and/or password you specified are not correct." in response.text


def test_log_in_by_e_mail_address_in_any_case(anonymous, nl):
    UserFactory(email=EMAIL, password=PASSWORD)

    response = log_in(anonymous, email="JAN@korenschoof.example")

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert logged_in(anonymous)


def test_pre_takeover_leaves_the_attacker_without_access(
    nl, sign_up, django_capture_on_commit_callbacks
):
    """Someone signs up the victim's address with their own password before the victim does."""
    attacker, victim = client_for(), client_for()
    sign_up(attacker, email=EMAIL, password="attackers-choice-2026")
    attackers_code = mail.outbox[-1]
    cache.clear()  # allauth mails one code a minute per address; the victim comes later
    # The victim signs up: no second account, the address's owner is mailed that one exists.
    sign_up(victim, email=EMAIL, password=PASSWORD)
    assert get_user_model().objects.count() == 1
    assert "already exists" in mail.outbox[-1].body
    # The first sign-up's password no longer works, and the code went only to the victim.
    assert not get_user_model().objects.get().has_usable_password()
    assert log_in(client_for(), password="attackers-choice-2026").status_code == 200
    # The victim sets a password through the mailed reset link...
    with django_capture_on_commit_callbacks(execute=True):
        victim.post("/account/password/reset/", {"email": EMAIL})
    path = link_in(mail.outbox[-1])
    form = victim.get(path)
    victim.post(form["Location"], {"password1": PASSWORD, "password2": PASSWORD})
    assert confirmed()
    assert logged_in(victim) or log_in(victim).status_code == 302
    # ...and the attacker, even with the code the first sign-up mailed, has nothing.
    assert code_in(attackers_code)
    retry = client_for()
    assert log_in(retry, password="attackers-choice-2026").status_code == 200
    assert not logged_in(retry)


def test_signing_up_with_a_confirmed_address_says_the_same_and_mails_the_owner(
    anonymous, nl, sign_up
):
    UserFactory(email=EMAIL)

    response = sign_up(anonymous, password="another-password-2026")

    assert response.status_code == 302
    assert get_user_model().objects.count() == 1
    assert "already exists" in mail.outbox[0].body
    assert get_user_model().objects.get().check_password("password")


def test_sign_up_checks_the_password(anonymous, nl, sign_up):
    response = sign_up(anonymous, password="12345678")

    assert "This password is too common." in response.text
    assert get_user_model().objects.count() == 0


def test_password_reset_by_mail_sets_a_new_password_once(
    anonymous, nl, django_capture_on_commit_callbacks
):
    UserFactory(email=EMAIL)

    with django_capture_on_commit_callbacks(execute=True):
        anonymous.post("/account/password/reset/", {"email": EMAIL})
    path = link_in(mail.outbox[0])
    form = anonymous.get(path)
    assert form.status_code == 302
    done = anonymous.post(form["Location"], {"password1": PASSWORD, "password2": PASSWORD})

    assert done.status_code == 302
    assert get_user_model().objects.get().check_password(PASSWORD)
    assert client_for().get(path).context["token_fail"]


def test_password_reset_of_an_unknown_address_looks_the_same(anonymous, nl):
    response = anonymous.post("/account/password/reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert get_user_model().objects.count() == 0


def test_password_change(owner_client, owner):
    response = owner_client.post(
        "/account/password/change/",
        {"oldpassword": "password", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_changing_the_address_waits_for_the_new_one_to_be_confirmed(
    owner_client, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/account/email/", {"action_add": "", "email": "new@korenschoof.example"}
        )

    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.email == "owner@korenschoof.example"
    assert mail.outbox[-1].to == ["new@korenschoof.example"]
    owner_client.post(response["Location"], {"code": code_in(mail.outbox[-1])})
    owner.refresh_from_db()
    assert owner.email == "new@korenschoof.example"
    assert confirmed("new@korenschoof.example")


def test_log_out_is_a_post(owner_client):
    assert owner_client.get("/account/logout/").status_code == 200
    assert logged_in(owner_client)
    response = owner_client.post("/account/logout/")

    assert response["Location"] == "/account/login/"
    assert not logged_in(owner_client)


def create_company(captured, email=EMAIL):
    with captured(execute=True):
        call_command(
            "create_company", "--register=nl", "--name=Korenschoof", f"--owner-email={email}"
        )


def test_create_company_invites_a_new_owner_to_set_a_password(
    nl, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL_TEMPLATE = "http://{host}"
    create_company(django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert message.to == [EMAIL]
    assert "72 hours" in message.body or "72 uur" in message.body
    path = link_in(message)
    client = client_for()
    form = client.get(path)
    client.post(form["Location"], {"password1": PASSWORD, "password2": PASSWORD})

    assert confirmed()
    assert log_in(client).status_code == 302 and logged_in(client)
    # The link worked once.
    assert client_for().get(path).context["token_fail"]


def test_an_invitation_expires_after_72_hours(
    nl, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL_TEMPLATE = "http://{host}"
    create_company(django_capture_on_commit_callbacks)
    path = link_in(mail.outbox[0])
    now = datetime.datetime.now()

    monkeypatch.setattr(
        PasswordResetTokenGenerator, "_now", lambda self: now + datetime.timedelta(hours=71)
    )
    assert client_for().get(path).status_code == 302
    monkeypatch.setattr(
        PasswordResetTokenGenerator,
        "_now",
        lambda self: now + datetime.timedelta(hours=72, minutes=1),
    )
    assert client_for().get(path).context["token_fail"]


def test_an_owner_adding_an_unknown_address_invites_a_new_member(
    owner_client, company, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/account/company/members/", {"email": "New@Korenschoof.example", "role": Role.MEMBER}
        )

    assert response.status_code == 302
    member = get_user_model().objects.get(email="new@korenschoof.example")
    assert not member.has_usable_password()
    with scopes_disabled():
        assert Membership.objects.filter(company=company, user=member, role=Role.MEMBER).exists()
    assert mail.outbox[-1].to == ["new@korenschoof.example"]
    assert "/account/password/reset/key/" in mail.outbox[-1].body


def test_an_owner_adding_a_known_address_mails_no_invitation(
    owner_client, company, django_capture_on_commit_callbacks
):
    known = UserFactory(email="known@korenschoof.example")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            "/account/company/members/", {"email": known.email, "role": Role.ACCOUNTING}
        )

    with scopes_disabled():
        assert Membership.objects.get(company=company, user=known).role == Role.ACCOUNTING
    assert mail.outbox == []
