"""The data migration that gives accounts made before allauth their EmailAddress rows."""

import importlib

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.utils import timezone

from tests.factories import UserFactory

migration = importlib.import_module("licences.migrations.0004_email_addresses")

pytestmark = pytest.mark.django_db


def test_accounts_made_before_allauth_keep_logging_in_and_pending_sign_ups_lose_their_password():
    active = UserFactory(email="Active@Example.com", email_confirmed=False)
    pending = UserFactory(email="pending@example.com", is_active=False, email_confirmed=False)
    switched_off = UserFactory(
        email="off@example.com", is_active=False, last_login=timezone.now(), email_confirmed=False
    )

    migration.forwards(apps, None)

    rows = {
        address.user_id: (address.email, address.verified, address.primary)
        for address in EmailAddress.objects.all()
    }
    assert rows == {
        active.pk: ("active@example.com", True, True),
        pending.pk: ("pending@example.com", False, True),
        switched_off.pk: ("off@example.com", False, True),
    }
    pending.refresh_from_db()
    switched_off.refresh_from_db()
    assert pending.is_active and not pending.has_usable_password()
    assert not switched_off.is_active and switched_off.has_usable_password()
