"""Accounts in a real browser (issue #10): an owner made by staff takes up the invitation, sets a
password, turns on two-factor and logs in with a code; another user resets a forgotten
password by mail (SPEC §3)."""

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from tests.factories import CompanyFactory, MembershipFactory, UserFactory, get_register

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OWNER = "eigenaar@korenschoof.example"
PASSWORD = "korenschoof-brood-2026"


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def link_in(message) -> str:
    return re.search(r"http://\S+/account/password/reset/key/\S+/", message.body).group(0)


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/account/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_invited_owner_sets_a_password_turns_on_two_factor_and_logs_in_with_a_code(
    page, site, shot, settings
):
    nl = site("nl")
    settings.PORTAL_BASE_URL_TEMPLATE = nl.replace("nl.localhost", "{host}")
    call_command(
        "create_company",
        "--register=nl",
        "--name=Bakkerij De Korenschoof B.V.",
        f"--owner-email={OWNER}",
    )
    (invitation,) = mail.outbox
    assert invitation.to == [OWNER]

    page.goto(link_in(invitation))
    shot("account-invitation-set-password")
    page.get_by_label("New Password", exact=True).fill(PASSWORD)
    page.get_by_label("New Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Change Password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Change Password"))

    log_in(page, nl, OWNER, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bakkerij De Korenschoof B.V.")
    page.get_by_role("link", name="Two-factor authentication").click()
    shot("account-mfa-index")
    page.get_by_role("link", name="Activate").click()
    # allauth asks for the password again before changing the second factor.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    shot("account-totp-activate")
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Recovery Codes"))
    shot("account-recovery-codes")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in for companies")
    log_in(page, nl, OWNER, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Two-Factor"))
    shot("account-totp-login")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bakkerij De Korenschoof B.V.")


def test_a_user_resets_a_forgotten_password_by_mail(page, site, shot):
    nl = site("nl")
    user = UserFactory(email="vergeten@korenschoof.example")
    MembershipFactory(company=CompanyFactory(register=get_register("nl")), user=user)

    page.goto(f"{nl}/account/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(user.email)
    shot("account-password-reset")
    page.get_by_role("button", name="Reset My Password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Password Reset"))

    page.goto(link_in(mail.outbox[-1]))
    page.get_by_label("New Password", exact=True).fill(PASSWORD)
    page.get_by_label("New Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Change Password").click()

    log_in(page, nl, user.email, "password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in for companies")
    log_in(page, nl, user.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Log in for companies")
    assert "_auth_user_id" not in page.url
