"""The supplier party of each register's invoices (SPEC §12).

Plausible placeholder data for development, not the operators' real registrations: staff put
the real VAT id, KvK/KBO number and IBAN in admin before the first real invoice.
"""

from django.db import migrations

PROFILES = {
    "nl": {
        "legal_name": "Stichting Infofilter",
        "street": "Postbus 37",
        "postcode": "2100 AA",
        "city": "Heemstede",
        "country": "NL",
        "vat_id": "NL812345678B01",
        "chamber_number": "41223344",
        "iban": "NL91ABNA0417164300",
        "email": "facturen@bel-me-niet.nl",
        "invoice_prefix": "NL",
    },
    "be": {
        "legal_name": "DNCM vzw",
        "street": "Rue de la Loi 1",
        "postcode": "1000",
        "city": "Brussel",
        "country": "BE",
        "vat_id": "BE0812345678",
        "chamber_number": "0812.345.678",
        "iban": "BE68539007547034",
        "email": "facturen@dncm.be",
        "invoice_prefix": "BE",
    },
}


def create_profiles(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    SupplierProfile = apps.get_model("billing", "SupplierProfile")
    for slug, fields in PROFILES.items():
        register = Register.objects.filter(slug=slug).first()
        if register is not None:
            SupplierProfile.objects.update_or_create(register=register, defaults=fields)


def remove_profiles(apps, schema_editor):
    apps.get_model("billing", "SupplierProfile").objects.filter(
        register__slug__in=list(PROFILES)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("register", "0002_nl_and_be_registers")]

    operations = [migrations.RunPython(create_profiles, remove_profiles)]
