"""A permission group per staff role: service desk, complaints, accounting (SPEC §1, §14).

Each gets the model permissions its work in the admin needs, no more. The admins of this
project change state through actions and step views, not through edit forms, so:

- the service desk unblocks numbers on a consumer's request (the unblock action asks for
  `delete_blockednumber`) and otherwise reads: numbers, their history, block requests, and the
  companies, licences, campaigns and uploads it answers questions about;
- the complaints desk records cases (`add_case`), takes their steps (`change_case`) and reads
  their timeline, attachments and letters (the inlines need their own view permissions);
- accounting reads orders, payments and invoices and issues credit notes (`add_invoice`).

Nothing here grants users, groups, registers, beat schedules or the action log: those stay with
superusers (an auditor role would be a later migration giving view_actionlog).
The table is frozen here on purpose, like any data migration: a later change to a role is a new
migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "service desk": {
        "register": [
            "view_blockednumber",
            "delete_blockednumber",
            "view_registerevent",
            "view_registerimport",
            "view_blockrequest",
        ],
        "licences": ["view_company", "view_membership", "view_licence", "view_licenceproduct"],
        "campaigns": ["view_campaign", "view_callfile"],
        "uploads": ["view_registrationfile", "view_registrationrow"],
    },
    "complaints": {
        "complaints": [
            "view_case",
            "add_case",
            "change_case",
            "view_caseevent",
            "view_caseattachment",
            "view_letter",
        ],
        "licences": ["view_company"],
    },
    "accounting": {
        "billing": [
            "view_order",
            "view_orderline",
            "view_payment",
            "view_invoice",
            "view_invoiceline",
            "add_invoice",
            "view_supplierprofile",
        ],
        "licences": ["view_company", "view_licence", "view_licenceproduct"],
    },
}


def create_role_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    # Permissions are normally made after the last migration (post_migrate): on a fresh
    # database none exist yet, so make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, permissions in ROLES.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        for app_label, codenames in permissions.items():
            found = Permission.objects.using(using).filter(
                content_type__app_label=app_label, codename__in=codenames
            )
            missing = set(codenames) - {permission.codename for permission in found}
            if missing:
                raise RuntimeError(f"No permissions {sorted(missing)} in {app_label}.")
            group.permissions.add(*found)


def delete_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("register", "0012_register_hosts"),
        # The models whose permissions the roles get.
        ("billing", "0004_licence_notice_mailed_at"),
        ("campaigns", "0006_call_file_language"),
        ("complaints", "0002_case_events_append_only"),
        ("licences", "0003_licence_reference_renewal_notice"),
        ("uploads", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_role_groups, delete_role_groups),
    ]
