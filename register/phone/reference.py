"""The reference normaliser: libphonenumber's `parse` and validation, tens of µs a number.

Every faster path in this package must give exactly the answers of `normalise_slow`; the
hypothesis tests in `tests/register/phone/test_normalise.py` hold them to it.
"""

from enum import StrEnum
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, shortnumberinfo


class Problem(StrEnum):
    INVALID = "invalid"
    FOREIGN = "foreign"
    SERVICE = "service"


# Numbers people are called on; everything else valid (0800, 0900, 084x/087x, …) is a service
# number and not a consumer's.
CONSUMER_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.PAGER,
    }
)

SPREADSHEET_NOISE = str.maketrans("", "", " \t\u00a0.-/()'\"")


class Normalised(NamedTuple):
    """`number` is the E.164 digits as an int when the number is valid in any country.

    A named tuple rather than a frozen dataclass: the bulk paths build a million of these, and a
    tuple is built in a third of the time.
    """

    number: int | None
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


INVALID = Normalised(None, Problem.INVALID)


def strip_artefacts(raw: str) -> str:
    text = raw.strip().lstrip("'")
    if text.endswith(".0"):
        text = text[:-2]
    return text


def normalise_slow(raw: str, region: str) -> Normalised:
    """The reference: libphonenumber's parse and metadata, after removing spreadsheet artefacts."""
    text = strip_artefacts(raw)
    if not text:
        return INVALID
    digits_only = text.translate(SPREADSHEET_NOISE)
    if digits_only.isdigit() and len(digits_only) <= 6:
        # `parse` refuses one or two digits ("0", "00"); those are no number, not an error.
        try:
            short = phonenumbers.parse(digits_only, region)
        except NumberParseException:
            return INVALID
        if shortnumberinfo.is_valid_short_number_for_region(short, region):
            return Normalised(None, Problem.SERVICE)
        return INVALID
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return INVALID
    if not phonenumbers.is_valid_number(parsed):
        # Digits-only E.164 of another country ("32471234567" in the Dutch register).
        if digits_only.isdigit() and not digits_only.startswith("0"):
            try:
                foreign = phonenumbers.parse("+" + digits_only, None)
            except NumberParseException:
                return INVALID
            if phonenumbers.is_valid_number(foreign) and (
                phonenumbers.region_code_for_number(foreign) != region
            ):
                return Normalised(_e164_int(foreign), Problem.FOREIGN)
        return INVALID
    number = _e164_int(parsed)
    if phonenumbers.region_code_for_number(parsed) != region:
        return Normalised(number, Problem.FOREIGN)
    if phonenumbers.number_type(parsed) not in CONSUMER_TYPES:
        return Normalised(number, Problem.SERVICE)
    return Normalised(number, None)


def _e164_int(parsed: phonenumbers.PhoneNumber) -> int:
    # The national significant number, not `national_number`: the latter is an int and loses the
    # leading zero that is part of E.164 for Italian fixed lines (+39 06 …), which made
    # "+39 06 1234 5678" come out as 39612345678 instead of 390612345678.
    return int(f"{parsed.country_code}{phonenumbers.national_significant_number(parsed)}")


def format_international(number: int) -> str:
    """`31612345678` → `+31 6 12345678`, for people to read."""
    try:
        parsed = phonenumbers.parse(f"+{number}", None)
    except NumberParseException:
        return f"+{number}"
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
