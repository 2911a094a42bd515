"""Login throttling per account and per client, behind proxies too, and the staff's second factor
(SPEC §3, §17; issue #10)."""

import logging
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import RequestFactory
from django_ratelimit.core import _get_ip

from register.clientip import client_ip
from tests.factories import UserFactory
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "password"
EMAIL = "jan@korenschoof.example"
STAFF_EMAIL = "staff@register.example"


def client_at(address: str, forwarded_for: str | None = None):
    client = client_for()
    client.defaults["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.defaults["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def log_in(client, email=EMAIL, password=PASSWORD, next_url=None):
    path = "/account/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(path, {"login": email, "password": password})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def staff(nl):
    user = UserFactory(email=STAFF_EMAIL, is_staff=True)
    nl.staff.add(user)
    return user


def test_eleven_bad_logins_for_one_account_refuse_the_eleventh_with_the_right_password(nl, caplog):
    UserFactory(email=EMAIL)
    for n in range(10):
        response = log_in(client_at(f"192.0.2.{n}"), password="wrong")
        assert (n, response.status_code) == (n, 200)

    client = client_at("198.51.100.1")
    with caplog.at_level(logging.WARNING, logger="licences.accounts"):
        refused = log_in(client)

    assert refused.status_code == 429
    assert "Too many failed login attempts" in refused.text
    assert not logged_in(client)
    assert f"account={EMAIL} client=198.51.100.1" in caplog.text


def test_failed_logins_for_one_account_count_on_every_register_host(nl):
    UserFactory(email=EMAIL)
    for n in range(10):
        client = client_for(host="be.localhost" if n % 2 else "nl.localhost")
        client.defaults["REMOTE_ADDR"] = f"192.0.2.{n}"
        log_in(client, password="wrong")

    assert log_in(client_at("198.51.100.1")).status_code == 429


def test_eleven_bad_logins_from_one_client_refuse_the_eleventh_for_any_account(nl):
    UserFactory(email=EMAIL)
    for n in range(10):
        log_in(client_at("192.0.2.7"), email=f"guess{n}@korenschoof.example")

    client = client_at("192.0.2.7")
    assert log_in(client).status_code == 429
    assert not logged_in(client)
    assert log_in(client_at("192.0.2.8")).status_code == 302


def test_a_good_login_does_not_use_up_the_limit(nl):
    UserFactory(email=EMAIL)
    for _ in range(12):
        client = client_at("192.0.2.7")
        assert log_in(client).status_code == 302
        assert logged_in(client)


def test_admin_login_goes_through_the_throttled_portal_login(nl, staff, caplog):
    anonymous = client_at("192.0.2.1")
    to_login = anonymous.get("/admin/")
    assert to_login["Location"] == "/admin/login/?next=/admin/"
    to_portal = anonymous.get(to_login["Location"])
    assert to_portal["Location"] == "/account/login/?next=%2Fadmin%2F"
    # No second form: posting to the admin's login logs nobody in.
    anonymous.post("/admin/login/", {"username": STAFF_EMAIL, "password": PASSWORD})
    assert not logged_in(anonymous)

    for n in range(10):
        wrong = log_in(client_at(f"192.0.2.{n}"), STAFF_EMAIL, "wrong", next_url="/admin/")
        assert wrong.status_code == 200
    client = client_at("198.51.100.1")
    with caplog.at_level(logging.WARNING, logger="licences.accounts"):
        refused = log_in(client, STAFF_EMAIL, PASSWORD, next_url="/admin/")

    assert refused.status_code == 429
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302
    assert f"account={STAFF_EMAIL} client=198.51.100.1" in caplog.text


def test_staff_log_in_to_the_admin(nl, staff):
    client = client_at("192.0.2.1")
    response = log_in(client, STAFF_EMAIL, PASSWORD, next_url="/admin/")

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_logged_in_non_staff_user_is_refused_the_admin_without_a_loop(nl):
    client = client_for(UserFactory(email=EMAIL))

    assert client.get("/admin/login/?next=/admin/").status_code == 403


def bad_logins_then_one_more(settings, count: int, first: str, then: str) -> int:
    settings.TRUSTED_PROXY_COUNT = count
    UserFactory(email=EMAIL)
    for n in range(10):
        log_in(client_at("10.0.0.1", first.format(n=n)), email=f"guess{n}@korenschoof.example")
    return log_in(client_at("10.0.0.1", then)).status_code


def test_without_trusted_proxies_forwarded_for_does_not_change_the_bucket(nl, settings):
    assert bad_logins_then_one_more(settings, 0, "203.0.113.{n}", "198.51.100.9") == 429


def test_behind_one_proxy_the_last_forwarded_entry_is_the_bucket(nl, settings):
    # What the client wrote in front of the proxy's entry does not count...
    assert bad_logins_then_one_more(settings, 1, "1.1.1.{n}, 203.0.113.5", "9.9.9.9, 203.0.113.5")
    assert log_in(client_at("10.0.0.1", "203.0.113.5")).status_code == 429
    # ...the entry the proxy appended does.
    assert log_in(client_at("10.0.0.1", "203.0.113.5, 203.0.113.6")).status_code == 302


@pytest.mark.parametrize(
    ("count", "remote", "forwarded_for", "expected"),
    [
        (0, "192.0.2.1", None, "192.0.2.1"),
        (0, "192.0.2.1", "203.0.113.9", "192.0.2.1"),
        (1, "10.0.0.1", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.1", "6.6.6.6,203.0.113.9", "203.0.113.9"),
        (2, "10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        # Reached directly, not through the proxy: the socket's address.
        (1, "192.0.2.1", None, "192.0.2.1"),
        (2, "192.0.2.1", "203.0.113.9", "192.0.2.1"),
        # A proxy that wrote nonsense: the socket's address rather than an error.
        (1, "10.0.0.1", "unknown", "10.0.0.1"),
        (1, "10.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(settings, count, remote, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = count
    headers = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = RequestFactory().get("/", **headers)

    assert client_ip(request) == expected
    # django-ratelimit's key="ip" (consumer pages, complaint form) asks the same function (and
    # counts an IPv6 client by its /64 network).
    assert _get_ip(request) == expected.replace("::1", "::")


# Two-factor authentication


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.mark.parametrize("superuser", [False, True])
def test_staff_without_an_authenticator_are_sent_to_set_one_up(nl, settings, staff, superuser):
    settings.STAFF_MFA_REQUIRED = True
    staff.is_superuser = superuser
    staff.save(update_fields=["is_superuser"])
    client = client_for(staff)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/account/2fa/totp/activate/"
    assert client.get("/admin/register/register/").status_code == 302


def test_staff_with_an_authenticator_open_the_admin(nl, settings, staff):
    settings.STAFF_MFA_REQUIRED = True
    TOTP.activate(staff, generate_totp_secret())

    assert client_for(staff).get("/admin/").status_code == 200


def test_without_the_setting_staff_need_no_authenticator(nl, staff):
    assert client_for(staff).get("/admin/").status_code == 200


def test_login_with_an_authenticator_asks_for_the_code(nl, staff):
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = client_at("192.0.2.1")

    response = log_in(client, STAFF_EMAIL, PASSWORD, next_url="/admin/")
    assert response["Location"].startswith("/account/2fa/authenticate/")
    assert not logged_in(client)
    assert client.post(response["Location"], {"code": "000000"}).status_code == 200
    assert not logged_in(client)

    done = client.post(response["Location"], {"code": totp_code(secret)})
    assert done["Location"] == "/admin/"
    assert logged_in(client)


def test_company_users_find_two_factor_on_the_company_page(owner_client):
    response = owner_client.get("/account/company/")

    assert 'href="/account/2fa/"' in response.text
