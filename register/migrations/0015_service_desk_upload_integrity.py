"""The service desk decides requests for the upload licence and reverts registration files
(SPEC §11, issue #10): the permissions of those two admin actions join its group (see
0013_staff_roles, whose table is frozen; a change to a role is a new migration)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SERVICE_DESK = "service desk"
PERMISSIONS = {
    "licences": ["view_uploadlicencerequest", "change_uploadlicencerequest"],
    "uploads": ["revert_registrationfile"],
}


def _permissions(apps, using):
    # As in 0013: on a fresh database permissions are made only after the last migration.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    found = []
    for app_label, codenames in PERMISSIONS.items():
        permissions = list(
            Permission.objects.using(using).filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        )
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise RuntimeError(f"No permissions {sorted(missing)} in {app_label}.")
        found += permissions
    return found


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group, _created = Group.objects.using(using).get_or_create(name=SERVICE_DESK)
    group.permissions.add(*_permissions(apps, using))


def withdraw(apps, schema_editor):
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(using).filter(name=SERVICE_DESK).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps, using))


class Migration(migrations.Migration):
    dependencies = [
        ("register", "0014_register_event_reference"),
        ("licences", "0005_upload_licence_on_request"),
        ("uploads", "0002_daily_limit_and_revert"),
    ]

    operations = [
        migrations.RunPython(grant, withdraw),
    ]
