"""Accounts move to django-allauth, which knows confirmed addresses from its EmailAddress rows.

Every account made before has one: confirmed when the account is active (the old sign-up kept an
account inactive until its address was confirmed; staff and commands made active ones), primary.
An inactive account that never logged in is a sign-up whose address nobody confirmed: it becomes
active with its address unconfirmed and without a password, so whoever chose that password
(perhaps not the address's owner) cannot use it; the owner sets one by "forgot password". An
inactive account that has logged in was switched off by staff and stays so.
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations


def forwards(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    EmailAddress = apps.get_model("account", "EmailAddress")
    for user in User.objects.exclude(email="").order_by("pk").iterator():
        email = user.email.strip().lower()
        if EmailAddress.objects.filter(email__iexact=email).exists():
            continue
        pending_sign_up = not user.is_active and user.last_login is None
        if pending_sign_up:
            user.is_active = True
            user.password = make_password(None)
            user.save(update_fields=["is_active", "password"])
        EmailAddress.objects.create(
            user=user, email=email, verified=user.is_active and not pending_sign_up, primary=True
        )


class Migration(migrations.Migration):
    dependencies = [
        ("licences", "0003_licence_reference_renewal_notice"),
        ("account", "0009_emailaddress_unique_primary_email"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
