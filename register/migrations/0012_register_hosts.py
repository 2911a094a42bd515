"""Host names move from an array on Register to RegisterHost, unique across registers (SPEC §3).

The first host name of each register's array becomes its primary one. Two registers claiming
one host name stop the migration with their names: an operator decides which keeps it.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.contrib.postgres.fields import ArrayField
from django.db import migrations, models


def hosts_from_arrays(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    RegisterHost = apps.get_model("register", "RegisterHost")
    claimed = {}
    for register in Register.objects.order_by("pk"):
        for position, hostname in enumerate(register.hostnames):
            hostname = hostname.strip().lower().rstrip(".")
            if claimed.get(hostname, register.slug) != register.slug:
                raise RuntimeError(
                    f"Host name {hostname!r} belongs to registers {claimed[hostname]!r} and "
                    f"{register.slug!r}: remove it from one, then migrate again."
                )
            if hostname in claimed:
                continue
            claimed[hostname] = register.slug
            RegisterHost.objects.create(
                register=register, hostname=hostname, primary=position == 0
            )


def arrays_from_hosts(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    for register in Register.objects.prefetch_related("hosts"):
        hosts = sorted(register.hosts.all(), key=lambda host: (not host.primary, host.hostname))
        register.hostnames = [host.hostname for host in hosts]
        register.save(update_fields=["hostnames"])


class Migration(migrations.Migration):

    dependencies = [
        ("register", "0011_be_in_french"),
    ]

    operations = [
        migrations.CreateModel(
            name="RegisterHost",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "hostname",
                    models.CharField(
                        error_messages={
                            "unique": "Another register answers on this host name already."
                        },
                        help_text="Without port, e.g. bel-me-niet.nl.",
                        max_length=253,
                        unique=True,
                        verbose_name="host name",
                    ),
                ),
                (
                    "primary",
                    models.BooleanField(
                        default=False,
                        help_text=(
                            "Links in mails sent without a request (reminders, renewals) use "
                            "this one."
                        ),
                        verbose_name="primary",
                    ),
                ),
                (
                    "register",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="hosts",
                        to="register.register",
                        verbose_name="register",
                    ),
                ),
            ],
            options={
                "verbose_name": "host name",
                "verbose_name_plural": "host names",
                "ordering": ["-primary", "hostname"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("hostname", django.db.models.functions.text.Lower("hostname"))
                        ),
                        name="register_host_lower_case",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("primary", True)),
                        fields=("register",),
                        name="register_host_one_primary",
                        violation_error_message="A register has one primary host name.",
                    ),
                ],
            },
        ),
        migrations.RunPython(hosts_from_arrays, arrays_from_hosts),
        # A default only so that migrating back can add the column to existing rows again.
        migrations.AlterField(
            model_name="register",
            name="hostnames",
            field=ArrayField(
                base_field=models.CharField(max_length=253),
                default=list,
                help_text="Host names this register answers on, without port.",
                size=None,
                verbose_name="host names",
            ),
        ),
        migrations.RemoveField(
            model_name="register",
            name="hostnames",
        ),
    ]
