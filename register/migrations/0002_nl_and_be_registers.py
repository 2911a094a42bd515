"""The two registers that ship as data (SPEC §1, §18): Bel-me-niet Register and Bel Me Niet Meer."""

from django.db import migrations

REGISTERS = [
    {
        "slug": "nl",
        "name": "Bel-me-niet Register",
        "operator": "Stichting Infofilter",
        "operator_address": "Postbus 37\n2100 AA Heemstede\nNederland",
        "support_email": "info@bel-me-niet.nl",
        "hostnames": ["nl.localhost"],
        "country": "NL",
        "time_zone": "Europe/Amsterdam",
        "categories": ["commercial", "ideal", "charity"],
        "languages": ["nl", "en"],
        "texts": {
            "nl": {
                "intro": (
                    "Wilt u niet meer ongevraagd gebeld worden met een aanbod? Schrijf uw "
                    "telefoonnummer in bij het Bel-me-niet Register. U kiest zelf of u alle "
                    "telemarketing blokkeert of alleen bepaalde soorten. Uw inschrijving geldt "
                    "voor onbepaalde tijd."
                ),
                "category.commercial": "Commerciële telemarketing (aanbiedingen van bedrijven)",
                "category.ideal": "Ideële organisaties",
                "category.charity": "Goede doelen",
            },
            "en": {
                "intro": (
                    "Don't want unsolicited sales calls any more? Register your telephone number "
                    "in the Bel-me-niet Register (Dutch do-not-call register). You choose whether "
                    "to block all telemarketing or only some kinds. Your registration holds "
                    "indefinitely."
                ),
                "category.commercial": "Commercial telemarketing (offers from companies)",
                "category.ideal": "Idealistic organisations",
                "category.charity": "Charities",
            },
        },
    },
    {
        "slug": "be",
        "name": "Bel Me Niet Meer",
        "operator": "DNCM vzw",
        "operator_address": "België",
        "support_email": "info@dncm.be",
        "hostnames": ["be.localhost"],
        "country": "BE",
        "time_zone": "Europe/Brussels",
        "categories": [],
        "languages": ["nl", "en"],
        "texts": {
            "nl": {
                "intro": (
                    "Wilt u geen telefonische verkoopgesprekken meer ontvangen? Zet uw vaste of "
                    "mobiele Belgische nummer op de Bel Me Niet Meer-lijst. Bedrijven moeten hun "
                    "belbestanden met deze lijst ontdubbelen."
                ),
            },
            "en": {
                "intro": (
                    "Don't want telephone sales calls any more? Put your Belgian landline or "
                    "mobile number on the Do Not Call Me list. Companies must clean their call "
                    "lists against it."
                ),
            },
        },
    },
]


def create_registers(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    for fields in REGISTERS:
        Register.objects.update_or_create(slug=fields["slug"], defaults=fields)


def remove_registers(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    Register.objects.filter(slug__in=[r["slug"] for r in REGISTERS]).delete()


class Migration(migrations.Migration):
    dependencies = [("register", "0001_initial")]

    operations = [migrations.RunPython(create_registers, remove_registers)]
