"""Company identifiers, checked and written one way (issue #12): by python-stdnum where it knows
the number, by a plain format where it does not.

What is checked follows the country of the company (or of the register's operator), never the
register: a Dutch company in the Belgian register gives a KvK number. A country without a rule
here takes what is typed, with the spaces trimmed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import iban as stdnum_iban
from stdnum.be import vat as be_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as NumberInvalid
from stdnum.nl import postcode as nl_postcode


def _kvk(value: str) -> str:
    """A Dutch chamber of commerce (KvK) number: 8 digits, no check digit to test."""
    digits = re.sub(r"[\s.]", "", value)
    if not re.fullmatch(r"\d{8}", digits):
        raise NumberInvalid
    return digits


# country: (what checks and writes the number, what to say when it is wrong)
CHAMBER_NUMBERS: dict[str, tuple[Callable[[str], str], str]] = {
    "NL": (_kvk, _("A KvK number has 8 digits.")),
    # The enterprise number is the Belgian VAT number's digits (mod-97 checked).
    "BE": (
        be_vat.validate,
        _("This is not a Belgian enterprise number (10 digits, e.g. 0123.456.749)."),
    ),
}
POSTCODES: dict[str, tuple[Callable[[str], str], str]] = {
    "NL": (nl_postcode.validate, _("A Dutch postcode looks like 1234 AB.")),
}


def chamber_number_clean(value: str, *, country: str) -> str:
    value = value.strip()
    rule = CHAMBER_NUMBERS.get(str(country).upper())
    if not value or rule is None:
        return value
    check, message = rule
    try:
        return check(value)
    except NumberInvalid:
        raise ValidationError(message, code="invalid_chamber_number") from None


def vat_id_clean(value: str) -> str:
    """A European VAT id, compact and upper case (NL123456789B01, BE0123456749)."""
    if not value.strip():
        return ""
    try:
        return eu_vat.validate(value)
    except NumberInvalid:
        raise ValidationError(
            _("This is not a valid VAT id, e.g. NL123456782B01 or BE0123456749."),
            code="invalid_vat_id",
        ) from None


def postcode_clean(value: str, *, country: str) -> str:
    value = value.strip()
    rule = POSTCODES.get(str(country).upper())
    if not value or rule is None:
        return value
    check, message = rule
    try:
        return check(value)
    except NumberInvalid:
        raise ValidationError(message, code="invalid_postcode") from None


def iban_clean(value: str) -> str:
    """An IBAN, compact (no spaces), its check digits tested."""
    try:
        return stdnum_iban.validate(value)
    except NumberInvalid:
        raise ValidationError(_("This is not a valid IBAN."), code="invalid_iban") from None


def identifiers_clean(instance, *, country: str, fields: dict[str, str]) -> None:
    """Checks and rewrites the identifier fields of a model instance in its `clean()`.

    `fields` names them: {"chamber_number": "chamber", "vat_id": "vat", ...}. Raises one
    ValidationError with every field's message.
    """
    cleaners = {
        "chamber": lambda value: chamber_number_clean(value, country=country),
        "vat": vat_id_clean,
        "postcode": lambda value: postcode_clean(value, country=country),
        "iban": iban_clean,
    }
    errors = {}
    for field, kind in fields.items():
        try:
            setattr(instance, field, cleaners[kind](getattr(instance, field) or ""))
        except ValidationError as error:
            errors[field] = error
    if errors:
        raise ValidationError(errors)
