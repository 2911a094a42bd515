"""French names for the be catalogue, which offers French since register 0011 (issue #12).

A name staff already gave in French stays.
"""

from django.db import migrations

FRENCH = {
    "advertiser-large": "Licence annuelle annonceur, plus de 250 travailleurs",
    "advertiser-small": "Licence annuelle annonceur, jusqu'à 250 travailleurs",
    "provider-large": "Licence annuelle prestataire de services, plus de 250 travailleurs",
    "provider-small": "Licence annuelle prestataire de services, jusqu'à 250 travailleurs",
    "advertiser-month": "Licence mensuelle annonceur",
}


def add_french_names(apps, schema_editor):
    LicenceProduct = apps.get_model("licences", "LicenceProduct")
    for product in LicenceProduct.objects.filter(register__slug="be", code__in=FRENCH):
        if not product.names.get("fr"):
            product.names = {**product.names, "fr": FRENCH[product.code]}
            product.save(update_fields=["names"])


class Migration(migrations.Migration):
    dependencies = [("licences", "0008_company_identifiers")]

    operations = [migrations.RunPython(add_french_names, migrations.RunPython.noop)]
