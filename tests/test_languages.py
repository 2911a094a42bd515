"""Each language of a register everywhere (issue #12): the API's error `detail` by Accept-Language
among the register's languages, the admin's own texts in French, and one way per language to
write dates, times and amounts (config/formats), never month before day."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.conf import settings
from django.test import Client
from django.utils import formats, translation

from tests.factories import ApiKeyFactory, CompanyFactory, UserFactory, get_register

pytestmark = pytest.mark.django_db

A_DAY = datetime.date(2026, 3, 4)
A_MOMENT = datetime.datetime(2026, 3, 4, 17, 5)

# language: (DATE_FORMAT, SHORT_DATE_FORMAT, SHORT_DATETIME_FORMAT, an amount): the short
# formats are the long ones, one way to write a date per language.
WRITTEN = {
    "en": ("4 March 2026", "4 March 2026", "4 March 2026, 17:05", "1234.50"),
    "nl": ("4 maart 2026", "4 maart 2026", "4 maart 2026 17:05", "1234,50"),
    "fr": ("4 mars 2026", "4 mars 2026", "4 mars 2026 17:05", "1234,50"),
    "de": ("4. März 2026", "4. März 2026", "4. März 2026 17:05", "1234,50"),
}


def test_every_language_has_its_formats_and_none_puts_the_month_first():
    assert set(WRITTEN) == {code for code, _name in settings.LANGUAGES}
    for language, expected in WRITTEN.items():
        with translation.override(language):
            written = (
                formats.date_format(A_DAY),
                formats.date_format(A_DAY, "SHORT_DATE_FORMAT"),
                formats.date_format(A_MOMENT, "SHORT_DATETIME_FORMAT"),
                formats.localize(Decimal("1234.50")),
            )
            # A date typed with slashes is read day first, as it is written.
            typed = forms.DateField().clean("04/03/2026")
        assert (language, written) == (language, expected)
        assert typed == A_DAY


@pytest.mark.parametrize(
    ("host", "accept", "detail", "language"),
    [
        ("be.localhost", "fr-BE,fr;q=0.9", "La clé API n'est pas valable.", "fr"),
        ("be.localhost", "nl-BE", "De API-sleutel is niet geldig.", "nl"),
        ("be.localhost", "en", "The API key is not valid.", "en"),
        # nl offers no French; be offers no German: the register's default language.
        ("nl.localhost", "fr", "De API-sleutel is niet geldig.", "nl"),
        ("be.localhost", "de", "De API-sleutel is niet geldig.", "nl"),
    ],
)
def test_api_errors_speak_the_callers_language_among_the_registers(host, accept, detail, language):
    response = Client().get(
        "/api/v1/campaigns",
        HTTP_HOST=host,
        HTTP_ACCEPT_LANGUAGE=accept,
        HTTP_AUTHORIZATION="Bearer dnc_not_a_key",
    )

    assert response.status_code == 401
    assert response.json() == {"detail": detail, "code": "authentication_failed"}
    assert response["Content-Language"] == language


def test_a_domain_error_of_the_api_in_french():
    company = CompanyFactory(register=get_register("be"))
    ApiKeyFactory(company=company, raw="dnc_french_caller")

    response = Client().get(
        "/api/v1/campaigns/999999",
        HTTP_HOST="be.localhost",
        HTTP_ACCEPT_LANGUAGE="fr",
        HTTP_AUTHORIZATION="Bearer dnc_french_caller",
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Introuvable.", "code": "not_found"}


def test_the_admin_speaks_french_on_be():
    admin = Client(HTTP_HOST="be.localhost", HTTP_ACCEPT_LANGUAGE="fr")
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    index = admin.get("/admin/")
    invoices = admin.get("/admin/billing/invoice/")

    assert index["Content-Language"] == "fr"
    assert "Administration du registre" in index.text  # ours
    assert "Se déconnecter" in index.text  # Django's
    assert "Profils du fournisseur" in index.text  # ours
    assert "l’objet facture à afficher" in invoices.text  # our model in Django's words
