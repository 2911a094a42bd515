"""The licence catalogues of nl (seed 000) and be (seed 001), prices excluding VAT (SPEC §7)."""

from decimal import Decimal

from django.db import migrations

NL = [
    {
        "code": "marking-1",
        "kind": "marking",
        "names": {"nl": "Markeerpakket 1 (10.000 records)", "en": "Marking package 1 (10,000 records)"},
        "price": Decimal("175.00"),
        "credits": 10_000,
        "requires_campaign": True,
    },
    {
        "code": "marking-2",
        "kind": "marking",
        "names": {"nl": "Markeerpakket 2 (25.000 records)", "en": "Marking package 2 (25,000 records)"},
        "price": Decimal("400.00"),
        "credits": 25_000,
        "requires_campaign": True,
    },
    {
        "code": "marking-3",
        "kind": "marking",
        "names": {"nl": "Markeerpakket 3 (75.000 records)", "en": "Marking package 3 (75,000 records)"},
        "price": Decimal("825.00"),
        "credits": 75_000,
        "requires_campaign": True,
    },
    {
        "code": "download",
        "kind": "download",
        "names": {"nl": "Downloadlicentie (één download)", "en": "Download licence (one download)"},
        "price": Decimal("550.00"),
        "requires_campaign": True,
    },
    {
        "code": "service",
        "kind": "service",
        "names": {"nl": "Servicelicentie (callcenters)", "en": "Service licence (call centres)"},
        "price": Decimal("1200.00"),
        "term": "year",
        "company_type": "service_provider",
        "renews": True,
        "cancellation_notice_months": 2,
        "download_extension_days": 28,
    },
    {
        "code": "upload",
        "kind": "upload",
        "names": {"nl": "Uploadlicentie (gratis)", "en": "Upload licence (free)"},
        "price": Decimal("0.00"),
    },
]

BE_ANNUAL = {
    "kind": "access",
    "term": "year",
    "renews": True,
    "cancellation_notice_months": 1,
    "renewal_notice_months": 2,
    "checks_per_minute": 20,
}

BE = [
    {
        **BE_ANNUAL,
        "code": "advertiser-large",
        "names": {
            "nl": "Jaarlicentie adverteerder, meer dan 250 werknemers",
            "en": "Annual licence, advertiser, more than 250 employees",
        },
        "price": Decimal("2200.00"),
        "company_type": "advertiser",
        "employee_band": "over_250",
    },
    {
        **BE_ANNUAL,
        "code": "advertiser-small",
        "names": {
            "nl": "Jaarlicentie adverteerder, tot en met 250 werknemers",
            "en": "Annual licence, advertiser, up to 250 employees",
        },
        "price": Decimal("760.00"),
        "company_type": "advertiser",
        "employee_band": "up_to_250",
    },
    {
        **BE_ANNUAL,
        "code": "provider-large",
        "names": {
            "nl": "Jaarlicentie serviceprovider, meer dan 250 werknemers",
            "en": "Annual licence, service provider, more than 250 employees",
        },
        "price": Decimal("1500.00"),
        "company_type": "service_provider",
        "employee_band": "over_250",
    },
    {
        **BE_ANNUAL,
        "code": "provider-small",
        "names": {
            "nl": "Jaarlicentie serviceprovider, tot en met 250 werknemers",
            "en": "Annual licence, service provider, up to 250 employees",
        },
        "price": Decimal("720.00"),
        "company_type": "service_provider",
        "employee_band": "up_to_250",
    },
    {
        "code": "advertiser-month",
        "kind": "access",
        "names": {"nl": "Maandlicentie adverteerder", "en": "One-month licence, advertiser"},
        "price": Decimal("80.00"),
        "term": "month",
        "company_type": "advertiser",
        "checks_per_minute": 20,
    },
]


def create_catalogues(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    LicenceProduct = apps.get_model("licences", "LicenceProduct")
    for slug, products in (("nl", NL), ("be", BE)):
        register = Register.objects.get(slug=slug)
        for position, fields in enumerate(products):
            LicenceProduct.objects.update_or_create(
                register=register,
                code=fields["code"],
                defaults={**fields, "position": position},
            )


def remove_catalogues(apps, schema_editor):
    apps.get_model("licences", "LicenceProduct").objects.filter(
        register__slug__in=["nl", "be"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("licences", "0001_initial")]

    operations = [migrations.RunPython(create_catalogues, remove_catalogues)]
