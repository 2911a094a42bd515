"""What is wrong with one typed number, in the reader's language: the normaliser's verdict made
precise. Shared by the consumer forms (`register.services.numbers_parse`) and the form field
(`register.phone.forms.PhoneNumberFormField`), so a number gets the same message everywhere."""

import phonenumbers
from django.utils.translation import gettext_lazy as _
from phonenumbers import NumberParseException

from register.phone.reference import Normalised, Problem, strip_artefacts

PROBLEM_MESSAGES = {
    Problem.INVALID: _("“%(number)s” is not a valid telephone number."),
    Problem.FOREIGN: _(
        "“%(number)s” is a number of another country; this register only holds numbers "
        "starting with +%(code)s."
    ),
    Problem.SERVICE: _(
        "“%(number)s” is a service number (such as 0800, 0900 or 112), not a personal "
        "number, and cannot be registered."
    ),
}
TOO_LONG_MESSAGE = _(
    "“%(number)s” has one digit too many for a telephone number starting with +%(code)s."
)
TOO_SHORT_MESSAGE = _("“%(number)s” is too short: a digit seems to be missing.")
# The error codes of a form field: the normaliser's problems, and the invalid numbers whose fault
# is known more precisely.
TOO_LONG = "one_digit_too_many"
TOO_SHORT = "too_short"


def one_digit_too_many(raw: str, region: str) -> bool:
    """Whether an invalid number of `region` becomes valid without one of its digits, the slip
    of a finger people make most; called on the error path only (a parse per digit)."""
    try:
        parsed = phonenumbers.parse(strip_artefacts(raw), region)
    except NumberParseException:
        return False
    if parsed.country_code != phonenumbers.country_code_for_region(region):
        return False
    national = phonenumbers.national_significant_number(parsed)
    for position in range(len(national)):
        shorter = f"+{parsed.country_code}{national[:position]}{national[position + 1 :]}"
        try:
            if phonenumbers.is_valid_number_for_region(phonenumbers.parse(shorter), region):
                return True
        except NumberParseException:
            continue
    return False


def too_short(raw: str, region: str) -> bool:
    """Whether a number of `region` is shorter than any of its fixed or mobile numbers, though
    long enough to be meant as one (a short code or a typed word is merely invalid)."""
    try:
        parsed = phonenumbers.parse(strip_artefacts(raw), region)
    except NumberParseException:
        return False
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    shortest = min((*metadata.fixed_line.possible_length, *metadata.mobile.possible_length))
    return (
        parsed.country_code == metadata.country_code
        and 6 < len(phonenumbers.national_significant_number(parsed)) < shortest
    )


def problem_code(raw: str, result: Normalised, region: str) -> str:
    """The error code of a refused number: the normaliser's problem, `TOO_LONG` or `TOO_SHORT`."""
    if result.problem is Problem.INVALID:
        if one_digit_too_many(raw, region):
            return TOO_LONG
        if too_short(raw, region):
            return TOO_SHORT
    return str(result.problem)


def problem_message(raw: str, result: Normalised, region: str) -> str:
    """The message for a number the normaliser refused, naming what the person typed."""
    code = problem_code(raw, result, region)
    template = {TOO_LONG: TOO_LONG_MESSAGE, TOO_SHORT: TOO_SHORT_MESSAGE}.get(
        code, PROBLEM_MESSAGES[result.problem]
    )
    return template % {
        "number": raw.strip(),
        "code": phonenumbers.country_code_for_region(region),
    }
