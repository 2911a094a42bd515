"""Sign-up with a verified e-mail address, log in and out, login throttling (SPEC §6, §17)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing

from licences import accounts
from tests.factories import UserFactory
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "korenschoof-brood-2026"


@pytest.fixture
def sign_up(django_capture_on_commit_callbacks):
    """Posts the sign-up form; the mail goes out after commit, as in production."""

    def post(client, email="Jan@Korenschoof.example", password=PASSWORD):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/account/signup/", {"email": email, "password1": password, "password2": password}
            )

    return post


def verification_path(message) -> str:
    return re.search(r"http://nl\.localhost(/account/verify/\S+/)", message.body).group(1)


def test_sign_up_makes_an_inactive_account_and_mails_a_verification_link(anonymous, nl, sign_up):
    response = sign_up(anonymous)

    assert response.status_code == 200
    assert "Check your e-mail" in response.text
    user = get_user_model().objects.get()
    assert (user.username, user.email, user.is_active) == (
        "jan@korenschoof.example",
        "jan@korenschoof.example",
        False,
    )
    assert [m.to for m in mail.outbox] == [["jan@korenschoof.example"]]
    assert verification_path(mail.outbox[0])


def test_unverified_account_cannot_log_in_and_is_told_why(anonymous, nl, sign_up):
    sign_up(anonymous)

    response = anonymous.post(
        "/account/login/", {"username": "jan@korenschoof.example", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert "not confirmed yet" in response.text
    assert "_auth_user_id" not in anonymous.session


def test_wrong_password_of_an_unverified_account_reveals_nothing(anonymous, nl, sign_up):
    sign_up(anonymous)

    response = anonymous.post(
        "/account/login/", {"username": "jan@korenschoof.example", "password": "wrong"}
    )

    assert "not confirmed" not in response.text
    assert "The e-mail address or the password is not right." in response.text


def test_opening_the_link_asks_and_only_the_button_verifies(anonymous, nl, sign_up):
    sign_up(anonymous)
    path = verification_path(mail.outbox[0])

    page = anonymous.get(path)
    assert page.status_code == 200
    assert "jan@korenschoof.example" in page.text
    assert not get_user_model().objects.get().is_active

    response = anonymous.post(path)
    assert response.status_code == 302
    assert response["Location"] == "/account/login/"
    assert get_user_model().objects.get().is_active

    login = anonymous.post(
        "/account/login/", {"username": "JAN@korenschoof.example", "password": PASSWORD}
    )
    assert login.status_code == 302
    assert login["Location"] == "/account/"


def test_expired_or_tampered_links_are_refused(anonymous, nl, monkeypatch, sign_up):
    sign_up(anonymous)
    path = verification_path(mail.outbox[0])

    tampered = anonymous.post(path[:-3] + "xx/")
    assert tampered.status_code == 400
    assert "not valid" in tampered.text

    monkeypatch.setattr(accounts, "VERIFICATION_DAYS", 0)
    expired = anonymous.post(path)
    assert expired.status_code == 400
    assert "expired" in expired.text
    assert not get_user_model().objects.get().is_active


def test_link_stops_working_when_the_address_changes(anonymous, nl, sign_up):
    sign_up(anonymous)
    path = verification_path(mail.outbox[0])
    get_user_model().objects.update(email="other@example.com")

    assert anonymous.post(path).status_code == 400


def test_signing_up_with_a_taken_address_says_the_same_and_mails_the_owner(anonymous, nl, sign_up):
    UserFactory(email="jan@korenschoof.example")

    response = sign_up(anonymous, password="another-password-2026")

    assert "Check your e-mail" in response.text
    assert get_user_model().objects.count() == 1
    assert "already have one" in mail.outbox[0].body
    assert "/account/verify/" not in mail.outbox[0].body
    assert get_user_model().objects.get().check_password("password")


def test_signing_up_again_before_verifying_keeps_the_first_password(anonymous, nl, sign_up):
    sign_up(anonymous)
    sign_up(anonymous, password="someone-elses-2026")

    user = get_user_model().objects.get()
    assert user.check_password(PASSWORD)
    assert len(mail.outbox) == 2
    assert (
        signing.loads(
            verification_path(mail.outbox[1]).split("/")[-2], salt=accounts.VERIFICATION_SALT
        )["u"]
        == user.pk
    )


def test_sign_up_checks_the_password(anonymous, nl, sign_up):
    response = sign_up(anonymous, password="12345678")

    assert "This password is too common." in response.text
    assert get_user_model().objects.count() == 0


def test_login_is_throttled_per_client(nl, settings):
    settings.PORTAL_LOGIN_RATE = "3/m"
    UserFactory(email="jan@korenschoof.example")
    client = client_for()
    for _ in range(3):
        response = client.post(
            "/account/login/", {"username": "jan@korenschoof.example", "password": "wrong"}
        )
        assert response.status_code == 200

    blocked = client.post(
        "/account/login/", {"username": "jan@korenschoof.example", "password": "password"}
    )

    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text
    assert "_auth_user_id" not in client.session
    other_client = client_for()
    other_client.defaults["REMOTE_ADDR"] = "192.0.2.7"
    allowed = other_client.post(
        "/account/login/", {"username": "jan@korenschoof.example", "password": "password"}
    )
    assert allowed.status_code == 302


def test_log_out_is_a_post(owner_client):
    assert owner_client.get("/account/logout/").status_code == 405
    response = owner_client.post("/account/logout/")

    assert response["Location"] == "/account/login/"
    assert "_auth_user_id" not in owner_client.session
