"""The one phone-number normaliser (SPEC §4): raw text in, E.164 digits and a verdict out."""

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, shortnumberinfo


class Problem(StrEnum):
    INVALID = "invalid"
    FOREIGN = "foreign"
    SERVICE = "service"


# Numbers people are called on; everything else valid (0800, 0900, 085x shared cost, …) is a
# service number and not a consumer's.
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


@dataclass(frozen=True, slots=True)
class Normalised:
    """`number` is the E.164 digits as an int when the number is valid in any country."""

    number: int | None
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


INVALID = Normalised(None, Problem.INVALID)


def _strip_artefacts(raw: str) -> str:
    text = raw.strip().lstrip("'")
    if text.endswith(".0"):
        text = text[:-2]
    return text


def normalise_slow(raw: str, region: str) -> Normalised:
    """The reference: libphonenumber's parse and metadata, after removing spreadsheet artefacts."""
    text = _strip_artefacts(raw)
    if not text:
        return INVALID
    digits_only = text.translate(SPREADSHEET_NOISE)
    if digits_only.isdigit() and len(digits_only) <= 6:
        if shortnumberinfo.is_valid_short_number_for_region(
            phonenumbers.parse(digits_only, region), region
        ):
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
    return int(f"{parsed.country_code}{parsed.national_number}")


def normalise(raw: str, region: str) -> Normalised:
    return normalise_slow(raw, region)


def format_international(number: int) -> str:
    """`31612345678` → `+31 6 12345678`, for people to read."""
    try:
        parsed = phonenumbers.parse(f"+{number}", None)
    except NumberParseException:
        return f"+{number}"
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)


class Normaliser:
    """Normalises many numbers for one register's region: the entry point of the bulk paths."""

    def __init__(self, region: str):
        self.region = region

    def __call__(self, raw: str) -> Normalised:
        return normalise(raw, self.region)
