"""The one phone-number normaliser (SPEC §4): raw text in, E.164 digits and a verdict out.

- `reference`: `normalise_slow`, libphonenumber's `parse` and validation, tens of µs a number;
  the answer every other path must give.
- `fast`: the same answer for one number of the shapes people and spreadsheets produce, replayed
  on the region's metadata (`metadata`), whose regexes are analysed by `patterns`.
- `batch`: the same answers for a whole batch of a region's common shapes at once.
- `ranges`: the same verdicts on whole ranges of E.164 digits, for the register file import and
  the bulk path.
- `normaliser`: `Normaliser` and `normalise`, which choose between them.
- `messages`: what is wrong with one typed number, in the reader's language.
- `forms`, `modelfields`, `serializers`: one number a person types or we keep, through
  django-phonenumber-field (`PhoneNumberFormField`, `ContactPhoneNumberField`, `E164Field`).

The tests in `tests/register/phone/` hold every path to the reference.
"""

from register.phone.batch import Batch
from register.phone.normaliser import Normaliser, normalise
from register.phone.ranges import CONSUMER, PER_NUMBER, e164_ranges
from register.phone.reference import (
    CONSUMER_TYPES,
    INVALID,
    Normalised,
    Problem,
    format_international,
    normalise_slow,
)

__all__ = [
    "CONSUMER",
    "CONSUMER_TYPES",
    "INVALID",
    "PER_NUMBER",
    "Batch",
    "Normalised",
    "Normaliser",
    "Problem",
    "e164_ranges",
    "format_international",
    "normalise",
    "normalise_slow",
]
