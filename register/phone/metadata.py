"""A region's number-plan metadata compiled for the fast paths, and the bounds they share.

`Metadata` holds, per number length and first digit, one regex of the type descriptions in
`number_type`'s order (service types in capturing groups), and how many leading digits decide
its answer (`patterns.depth`), which the bulk path and the E.164 ranges rely on.
"""

import re
from collections.abc import Callable
from enum import IntEnum
from functools import cache, cached_property

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberType

from register.phone import patterns
from register.phone.reference import CONSUMER_TYPES

# The fast path works on ASCII bytes: `bytes.translate` drops separators several times faster than
# `str.translate`, and everything after it (slicing, regexes, `int`) is as fast or faster on bytes.
# Only separators that libphonenumber skips as punctuation *and* the reference drops before its
# short-number test; tabs, quotes and the rest go the slow way.
SEPARATORS = b" .-/()"
# libphonenumber refuses longer input outright, and these bounds on a national significant number.
MAX_INPUT_LENGTH = 250
MIN_NSN_LENGTH = 2
MAX_NSN_LENGTH = 17
# The fast paths leave digits this short to the reference's short-number rules.
SHORT_LENGTH = 6
new_normalised = tuple.__new__

# The order in which libphonenumber's `number_type` tries the descriptions: the first that
# matches is the number's type. Fixed line and "fixed line or mobile" are both consumer types, so
# the fixed-line group needs no second look at the mobile pattern.
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
    ("fixed_line", PhoneNumberType.FIXED_LINE),
    ("mobile", PhoneNumberType.MOBILE),
)

_COUNTRY_CODES = {str(code).encode(): code for code in COUNTRY_CODE_TO_REGION_CODE}
_NON_GEOGRAPHIC = "001"


class _PerLength(dict):
    """Values by number length, worked out by `fill(length)` on first use (None: no value)."""

    def __init__(self, fill: Callable[[int], object]):
        super().__init__()
        self._fill = fill

    def __missing__(self, length: int):
        value = self[length] = self._fill(length)
        return value

    def get(self, length: int, default=None):
        value = self[length]
        return default if value is None else value


class _Regex:
    """A type regex, compiled on its first match: a region whose numbers a file holds a few of
    needs few of them, and compiling them all took longer than reading a million rows."""

    __slots__ = ("pattern", "regex")

    def __init__(self, pattern: bytes):
        self.pattern = pattern
        self.regex: re.Pattern[bytes] | None = None

    def fullmatch(self, text: bytes) -> re.Match[bytes] | None:
        if self.regex is None:
            self.regex = re.compile(self.pattern)
        return self.regex.fullmatch(text)


class Length(IntEnum):
    """libphonenumber's ValidationResult, as far as parsing looks at it."""

    POSSIBLE = 0
    LOCAL_ONLY = 1
    TOO_SHORT = 2
    TOO_LONG = 3
    INVALID = 4


def _uncaptured(pattern: str) -> str:
    """`pattern` with its groups made non-capturing, so that only ours capture."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


ZERO = ord("0")


def _compile(pattern: str | None) -> re.Pattern[bytes] | None:
    return re.compile(pattern.encode()) if pattern else None


class Metadata:
    """One region's (or non-geographic country code's) metadata, compiled for the fast path."""

    def __init__(self, region: str, metadata: PhoneMetadata):
        self.region = region
        self.country_code = metadata.country_code
        self.country_code_digits = str(metadata.country_code).encode()
        general = metadata.general_desc
        self.general = _compile(general.national_number_pattern)
        self.possible_lengths = tuple(general.possible_length)
        self.local_only_lengths = tuple(general.possible_length_local_only)
        self.national_prefix = _compile(metadata.national_prefix_for_parsing)
        transform = metadata.national_prefix_transform_rule
        self.national_prefix_transform = transform.encode() if transform else None
        self.international_prefix = _compile(metadata.international_prefix)
        self.leading_digits = _compile(metadata.leading_digits)

        # `number_type` skips a description when the number's length is not one of its lengths,
        # so each length gets its own regex of the descriptions that allow it, in `number_type`'s
        # order, the general description in a lookahead: one `fullmatch` says whether the number
        # is valid. Service descriptions sit in capturing groups, consumer ones do not, so the
        # match's `lastindex` says which kind matched first (fewer groups match faster, too).
        self._descs = []
        for attribute, number_type in _TYPE_ORDER:
            desc = getattr(metadata, attribute)
            if attribute == "mobile" and metadata.same_mobile_and_fixed_line_pattern:
                continue
            if desc is not None and desc.national_number_pattern:
                self._descs.append((number_type in CONSUMER_TYPES, desc))
        self._general_pattern = general.national_number_pattern
        # And by the first digit: a regex holds only the descriptions a number starting with
        # that digit can match, a third of the work for a Dutch mobile. Made per length on
        # first use: a file's numbers of other countries meet few lengths of few regions, and
        # compiling every region they meet whole cost more than reading the file.
        self.types_by_length: dict[int, tuple[_Regex | None, ...] | None]
        self.types_by_length = _PerLength(self._fill_types)
        # For each regex, how many leading digits decide its answer (None: no bound known): the
        # E.164 ranges (and so the bulk path) give one verdict to all numbers that agree that far.
        self.type_depths: dict[int, tuple[int | None, ...] | None]
        self.type_depths = _PerLength(self._fill_depths)

    @cached_property
    def general_depth(self) -> int | None:
        return patterns.depth(self._general_pattern) if self._general_pattern else None

    def _descs_for(self, length: int, digit: int) -> list[tuple[bool, str]]:
        """Whether consumer, and pattern, of the descriptions in `number_type`'s order that a
        number of `length` digits starting with `digit` can match; none for a number of a
        length or first digit the region's numbers do not have."""
        general_pattern = self._general_pattern
        if (
            not general_pattern
            or length not in self.possible_lengths
            or digit not in patterns.first_digits(general_pattern)
        ):
            return []
        return [
            (consumer, desc.national_number_pattern)
            for consumer, desc in self._descs
            if (not desc.possible_length or length in desc.possible_length)
            and digit in patterns.first_digits(desc.national_number_pattern)
        ]

    def _fill_types(self, length: int) -> tuple[_Regex | None, ...] | None:
        if length not in self.possible_lengths:
            return None
        return tuple(self._types(length, digit) for digit in b"0123456789")

    def _fill_depths(self, length: int) -> tuple[int | None, ...] | None:
        if length not in self.possible_lengths:
            return None
        depths = []
        for digit in b"0123456789":
            descs = self._descs_for(length, digit)
            depth = self.general_depth
            for _consumer, pattern in descs:
                desc_depth = patterns.depth(pattern)
                depth = None if depth is None or desc_depth is None else max(depth, desc_depth)
            depths.append(depth if descs else None)
        return tuple(depths)

    def _types(self, length: int, digit: int) -> _Regex | None:
        """The type regex for numbers of `length` digits starting with `digit`."""
        runs: list[tuple[bool, list[str]]] = []
        for consumer, pattern in self._descs_for(length, digit):
            pattern = _uncaptured(pattern)
            if runs and runs[-1][0] == consumer:
                runs[-1][1].append(pattern)
            else:
                runs.append((consumer, [pattern]))
        if not runs:
            return None
        kinds = "|".join(
            "|".join(patterns) if consumer else f"({'|'.join(patterns)})"
            for consumer, patterns in runs
        )
        return _Regex(f"(?=(?:{self._general_pattern})\\Z)(?:{kinds})".encode())

    def type_match(self, national: bytes) -> re.Match[bytes] | None:
        """A match with a `lastindex` for service numbers; None: not a valid number."""
        types_by_digit = self.types_by_length[len(national)]
        if types_by_digit is None:
            return None
        types = types_by_digit[national[0] - ZERO]
        return None if types is None else types.fullmatch(national)

    def viable(self, number: bytes) -> bool:
        """libphonenumber's `_match_national_number` against the general description."""
        return self.general is not None and self.general.fullmatch(number) is not None

    def length_result(self, length: int) -> int:
        """libphonenumber's `_test_number_length` for the general description."""
        if length in self.local_only_lengths:
            return Length.LOCAL_ONLY
        lengths = self.possible_lengths
        if lengths[0] == length:
            return Length.POSSIBLE
        if lengths[0] > length:
            return Length.TOO_SHORT
        if lengths[-1] < length:
            return Length.TOO_LONG
        return Length.POSSIBLE if length in lengths[1:] else Length.INVALID

    def keeps_stripped(self, length: int) -> bool:
        """Whether `parse` keeps a number of this length with its national prefix stripped."""
        return self.length_result(length) not in (
            Length.TOO_SHORT,
            Length.LOCAL_ONLY,
            Length.INVALID,
        )

    def strip_national_prefix(self, number: bytes) -> bytes:
        """libphonenumber's `_maybe_strip_national_prefix_carrier_code`, without the carrier."""
        if not number or self.national_prefix is None:
            return number
        match = self.national_prefix.match(number)
        if match is None:
            return number
        if self.national_prefix_transform is None or match.groups()[-1] is None:
            stripped = number[match.end() :]
        else:
            stripped = self.national_prefix.sub(self.national_prefix_transform, number, count=1)
        if self.viable(number) and not self.viable(stripped):
            return number
        return stripped


@cache
def metadata_for(region: str, country_code: int) -> Metadata | None:
    """`region` is a region code, or "001" with the country code of a non-geographic number."""
    if region == _NON_GEOGRAPHIC:
        metadata = PhoneMetadata.metadata_for_nongeo_region(country_code)
    else:
        metadata = PhoneMetadata.metadata_for_region(region)
    return None if metadata is None else Metadata(region, metadata)


def region_metadata(region: str) -> Metadata | None:
    if region == _NON_GEOGRAPHIC:
        return None
    code = phonenumbers.country_code_for_region(region)
    return metadata_for(region, code) if code else None


def country_code_prefix(digits: bytes) -> tuple[int, bytes]:
    """libphonenumber's `_extract_country_code`: (0, digits) when none starts the digits."""
    if digits[:1] == b"0":
        return 0, digits
    for size in (1, 2, 3):
        code = _COUNTRY_CODES.get(digits[:size])
        if code is not None:
            return code, digits[size:]
    return 0, digits


def common_shapes(metadata: Metadata) -> bool:
    """Whether the common shapes can be read without `_parse` where that cannot differ from it.

    The region is the first the reference tries for its country code (the only one, or the main
    country of a shared code, as the US is of +1) and names no leading digits, so a number its
    type patterns match is the region's and no other's; its prefixes are plain digits (no
    patterns, no transformation); a plus and its country code cannot be read as a shorter code; a
    valid number's length is one `parse` keeps after stripping the national prefix, and within
    the longest national number it accepts.
    """
    plain = re.compile(rb"[0-9]*")
    national_prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
    international_prefix = (
        metadata.international_prefix.pattern if metadata.international_prefix else b""
    )
    lengths = metadata.possible_lengths
    return (
        COUNTRY_CODE_TO_REGION_CODE[metadata.country_code][0] == metadata.region
        and metadata.leading_digits is None
        and plain.fullmatch(national_prefix) is not None
        and metadata.national_prefix_transform is None
        and len(international_prefix) > 0
        and plain.fullmatch(international_prefix) is not None
        and country_code_prefix(metadata.country_code_digits)[0] == metadata.country_code
        and metadata.general is not None
        and len(lengths) > 0
        and lengths[-1] <= MAX_NSN_LENGTH
        and not set(lengths) & set(metadata.local_only_lengths)
    )
