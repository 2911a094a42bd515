"""Personal data minimised (issue #14): each register gets its own secret for number hashes, a
used block request keeps its numbers' hashes in place of the numbers, and each register names
its regulator (the accessibility statement's route for consumers still being called) as data.
"""

import django.contrib.postgres.fields
import register.numberhash
from django.db import migrations, models

from register.numberhash import new_number_key, number_hash

# Where a consumer still called despite the register turns (texts, per language).
REGULATORS = {
    "nl": {
        "nl": (
            "de Autoriteit Consument & Markt (ACM), via ConsuWijzer",
            "https://www.consuwijzer.nl/",
        ),
        "en": (
            "the Netherlands Authority for Consumers and Markets (ACM), through ConsuWijzer",
            "https://www.consuwijzer.nl/",
        ),
    },
    "be": {
        "nl": ("de FOD Economie, via het Meldpunt", "https://meldpunt.belgie.be/meldpunt/"),
        "fr": ("le SPF Economie, via le Point de contact", "https://pointdecontact.belgique.be/"),
        "en": (
            "the FPS Economy, through its Contact point",
            "https://meldpunt.belgie.be/meldpunt/",
        ),
    },
}


def forwards(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    BlockRequest = apps.get_model("register", "BlockRequest")
    for register in Register.objects.all():
        # The field's default gave every row the same key: each register its own.
        register.number_key = new_number_key()
        texts = dict(register.texts)
        for language, (name, url) in REGULATORS.get(register.slug, {}).items():
            texts[language] = {
                **texts.get(language, {}),
                "regulator.name": name,
                "regulator.url": url,
            }
        register.texts = texts
        register.save(update_fields=["number_key", "texts"])
        for block_request in BlockRequest.objects.filter(
            register=register, confirmed_at__isnull=False
        ):
            block_request.number_hashes = [
                number_hash(register.number_key, number) for number in block_request.numbers
            ]
            block_request.save(update_fields=["number_hashes"])


class Migration(migrations.Migration):
    dependencies = [
        ("register", "0019_service_desk_and_ivr"),
    ]

    operations = [
        migrations.AddField(
            model_name="blockrequest",
            name="number_hashes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, default=list, editable=False, size=None
            ),
        ),
        migrations.AddField(
            model_name="register",
            name="number_key",
            field=models.BinaryField(default=register.numberhash.new_number_key),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
