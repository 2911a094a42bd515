"""Per-register days off for the complaint terms; nl counts 5 May off in lustrum years only."""

from django.db import migrations, models


def nl_liberation_day_in_lustrum_years(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    Register.objects.filter(country="NL").update(liberation_day_off="lustrum")


class Migration(migrations.Migration):

    dependencies = [
        ("register", "0004_registerevent_brin_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="register",
            name="good_friday_off",
            field=models.BooleanField(
                default=False,
                help_text="For the working days of complaint and dispute terms.",
                verbose_name="Good Friday is a day off",
            ),
        ),
        migrations.AddField(
            model_name="register",
            name="liberation_day_off",
            field=models.CharField(
                choices=[
                    ("never", "not a day off"),
                    ("lustrum", "a day off in lustrum years (2025, 2030, …)"),
                    ("yearly", "a day off every year"),
                ],
                default="never",
                help_text="For the working days of complaint and dispute terms.",
                max_length=8,
                verbose_name="5 May (Liberation Day)",
            ),
        ),
        migrations.RunPython(nl_liberation_day_in_lustrum_years, migrations.RunPython.noop),
    ]
