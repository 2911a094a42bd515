"""The one phone-number normaliser (SPEC §4): raw text in, E.164 digits and a verdict out.

`normalise_slow` is the reference: libphonenumber's `parse` and validation, tens of µs a number.
`Normaliser` gives the same answers at bulk speed: for the shapes people and spreadsheets produce
(digits, an optional leading plus, separators) it replays what `parse`, `is_valid_number` and
`number_type` do, with the region's metadata patterns compiled once into one regex whose named
groups say the number's type. Anything else (letters, other punctuation, short numbers) still goes
through `normalise_slow`. The hypothesis test in `tests/register/test_phone.py` holds the two to
the same answers.
"""

import gc
import math
import re
from collections.abc import Callable, Iterable
from enum import IntEnum, StrEnum
from functools import cache, lru_cache, partial
from itertools import compress, count, repeat
from operator import floordiv, not_
from re import _constants as sre_constants
from re import _parser as sre_parser
from typing import NamedTuple

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    PhoneNumberType,
    shortnumberinfo,
)


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


# The fast path works on ASCII bytes: `bytes.translate` drops separators several times faster than
# `str.translate`, and everything after it (slicing, regexes, `int`) is as fast or faster on bytes.
# Only separators that libphonenumber skips as punctuation *and* the reference drops before its
# short-number test; tabs, quotes and the rest go the slow way.
_SEPARATORS = b" .-/()"
# libphonenumber refuses longer input outright, and these bounds on a national significant number.
_MAX_INPUT_LENGTH = 250
_MIN_NSN_LENGTH = 2
_MAX_NSN_LENGTH = 17
_new_normalised = tuple.__new__

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


class _Length(IntEnum):
    """libphonenumber's ValidationResult, as far as parsing looks at it."""

    POSSIBLE = 0
    LOCAL_ONLY = 1
    TOO_SHORT = 2
    TOO_LONG = 3
    INVALID = 4


def _uncaptured(pattern: str) -> str:
    """`pattern` with its groups made non-capturing, so that only ours capture."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


_ZERO = ord("0")
_DIGITS = frozenset(b"0123456789")
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)


def _first_digits(pattern: str) -> frozenset[int]:
    """The digits a match of `pattern` can start with: all of them where that is not plain."""
    first = _first_characters(sre_parser.parse(pattern))
    return _DIGITS if first is None else _DIGITS & first[0]


def _first_characters(items: Iterable) -> tuple[frozenset[int], bool] | None:
    """The characters a parsed regex can start with, and whether it can match nothing.

    None for constructs beyond the plain ones phone-number metadata uses: the caller then
    assumes any start. Lookaheads and anchors count as matching nothing, which only widens
    the answer.
    """
    characters: frozenset[int] = frozenset()
    for op, argument in items:
        if op is sre_constants.LITERAL:
            item = (frozenset({argument}), False)
        elif op is sre_constants.IN:
            item = _set_characters(argument)
        elif op is sre_constants.BRANCH:
            branches = [_first_characters(branch) for branch in argument[1]]
            if None in branches:
                return None
            item = (
                frozenset().union(*(branch[0] for branch in branches)),
                any(branch[1] for branch in branches),
            )
        elif op is sre_constants.SUBPATTERN:
            item = _first_characters(argument[3])
        elif op is sre_constants.ATOMIC_GROUP:
            item = _first_characters(argument)
        elif op in _REPEATS:
            inner = _first_characters(argument[2])
            item = None if inner is None else (inner[0], argument[0] == 0 or inner[1])
        elif op in _ZERO_WIDTH:
            item = (frozenset(), True)
        else:
            return None
        if item is None:
            return None
        characters |= item[0]
        if not item[1]:
            return characters, False
    return characters, True


def _set_characters(items: Iterable) -> tuple[frozenset[int], bool] | None:
    characters: set[int] = set()
    for op, argument in items:
        if op is sre_constants.LITERAL:
            characters.add(argument)
        elif op is sre_constants.RANGE:
            characters.update(range(argument[0], argument[1] + 1))
        elif op is sre_constants.CATEGORY and argument is sre_constants.CATEGORY_DIGIT:
            characters.update(_DIGITS)
        else:
            return None
    return frozenset(characters), False


def _depth(pattern: str) -> int | None:
    """How many leading digits decide whether `pattern` matches a digit string of a given length.

    Beyond that position every character the regex tests is one that any digit passes (`\\d`,
    `[0-9]`), so the regex engine takes the same steps on two digit strings of the same length that
    agree up to there. None for constructs beyond the plain ones phone-number metadata uses, and
    where an unbounded repeat comes before a test that not every digit passes.
    """
    reach = _reach(sre_parser.parse(pattern), 0)
    return None if reach is None else int(reach[0])


def _reach(items: Iterable, offset: float) -> tuple[float, float] | None:
    """(depth, end) of a parsed regex starting at most at `offset`: the furthest position just past
    a test not every digit passes, and the furthest position the regex can end at."""
    depth = 0.0
    for op, argument in items:
        if op in _ONE_CHARACTER:
            if not _passes_every_digit(op, argument):
                depth = max(depth, offset + 1)
            offset += 1
        elif op is sre_constants.SUBPATTERN or op is sre_constants.ATOMIC_GROUP:
            inner = _reach(argument[3] if op is sre_constants.SUBPATTERN else argument, offset)
            if inner is None:
                return None
            depth, offset = max(depth, inner[0]), inner[1]
        elif op is sre_constants.BRANCH:
            branches = [_reach(branch, offset) for branch in argument[1]]
            if None in branches:
                return None
            depth = max(depth, *(branch[0] for branch in branches))
            offset = max(branch[1] for branch in branches)
        elif op in _REPEATS:
            _low, high, item = argument
            once = _reach(item, 0)
            if once is None:
                return None
            times = math.inf if high is sre_constants.MAXREPEAT else high
            if once[0]:
                # The last repetition starts at most `times - 1` lengths in.
                depth = max(depth, offset + (times - 1) * once[1] + once[0])
            offset += times * once[1] if once[1] else 0
        elif op is not sre_constants.AT:
            return None
        if depth == math.inf:
            return None
    return depth, offset


_ONE_CHARACTER = (
    sre_constants.LITERAL,
    sre_constants.NOT_LITERAL,
    sre_constants.IN,
    sre_constants.ANY,
)


def _passes_every_digit(op: int, argument) -> bool:
    if op is not sre_constants.IN:
        return False
    characters = _set_characters(argument)
    return characters is not None and characters[0] >= _DIGITS


def _compile(pattern: str | None) -> re.Pattern[bytes] | None:
    return re.compile(pattern.encode()) if pattern else None


class _Metadata:
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
        descs = []
        for attribute, number_type in _TYPE_ORDER:
            desc = getattr(metadata, attribute)
            if attribute == "mobile" and metadata.same_mobile_and_fixed_line_pattern:
                continue
            if desc is not None and desc.national_number_pattern:
                pattern = desc.national_number_pattern
                descs.append(
                    (number_type in CONSUMER_TYPES, desc, _first_digits(pattern), _depth(pattern))
                )
        # And by the first digit: a regex holds only the descriptions a number starting with
        # that digit can match, a third of the work for a Dutch mobile.
        self.types_by_length: dict[int, tuple[re.Pattern[bytes] | None, ...]] = {}
        # For each regex, how many leading digits decide its answer (None: no bound known): the
        # bulk path memoises verdicts by that many digits.
        self.type_depths: dict[int, tuple[int | None, ...]] = {}
        general_pattern = general.national_number_pattern
        self.general_depth = _depth(general_pattern) if general_pattern else None
        if general_pattern:
            general_digits = _first_digits(general_pattern)
            for length in self.possible_lengths:
                types = [
                    self._types(general_pattern, descs, length, digit)
                    if digit in general_digits
                    else (None, None)
                    for digit in b"0123456789"
                ]
                self.types_by_length[length] = tuple(regex for regex, _ in types)
                self.type_depths[length] = tuple(
                    None
                    if depth is None or self.general_depth is None
                    else max(depth, self.general_depth)
                    for _, depth in types
                )

    @staticmethod
    def _types(
        general_pattern: str,
        descs: list[tuple[bool, phonenumbers.PhoneNumberDesc, frozenset[int], int | None]],
        length: int,
        digit: int,
    ) -> tuple[re.Pattern[bytes] | None, int | None]:
        """The type regex for numbers of `length` digits starting with `digit`, and its depth."""
        runs: list[tuple[bool, list[str]]] = []
        depth: int | None = 0
        for consumer, desc, first_digits, desc_depth in descs:
            if desc.possible_length and length not in desc.possible_length:
                continue
            if digit not in first_digits:
                continue
            depth = None if depth is None or desc_depth is None else max(depth, desc_depth)
            pattern = _uncaptured(desc.national_number_pattern)
            if runs and runs[-1][0] == consumer:
                runs[-1][1].append(pattern)
            else:
                runs.append((consumer, [pattern]))
        if not runs:
            return None, None
        kinds = "|".join(
            "|".join(patterns) if consumer else f"({'|'.join(patterns)})"
            for consumer, patterns in runs
        )
        return re.compile(f"(?=(?:{general_pattern})\\Z)(?:{kinds})".encode()), depth

    def type_match(self, national: bytes) -> re.Match[bytes] | None:
        """A match with a `lastindex` for service numbers; None: not a valid number."""
        types_by_digit = self.types_by_length.get(len(national))
        if types_by_digit is None:
            return None
        types = types_by_digit[national[0] - _ZERO]
        return None if types is None else types.fullmatch(national)

    def viable(self, number: bytes) -> bool:
        """libphonenumber's `_match_national_number` against the general description."""
        return self.general is not None and self.general.fullmatch(number) is not None

    def length_result(self, length: int) -> int:
        """libphonenumber's `_test_number_length` for the general description."""
        if length in self.local_only_lengths:
            return _Length.LOCAL_ONLY
        lengths = self.possible_lengths
        if lengths[0] == length:
            return _Length.POSSIBLE
        if lengths[0] > length:
            return _Length.TOO_SHORT
        if lengths[-1] < length:
            return _Length.TOO_LONG
        return _Length.POSSIBLE if length in lengths[1:] else _Length.INVALID

    def keeps_stripped(self, length: int) -> bool:
        """Whether `parse` keeps a number of this length with its national prefix stripped."""
        return self.length_result(length) not in (
            _Length.TOO_SHORT,
            _Length.LOCAL_ONLY,
            _Length.INVALID,
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
def _metadata(region: str, country_code: int) -> _Metadata | None:
    """`region` is a region code, or "001" with the country code of a non-geographic number."""
    if region == _NON_GEOGRAPHIC:
        metadata = PhoneMetadata.metadata_for_nongeo_region(country_code)
    else:
        metadata = PhoneMetadata.metadata_for_region(region)
    return None if metadata is None else _Metadata(region, metadata)


def _region_metadata(region: str) -> _Metadata | None:
    if region == _NON_GEOGRAPHIC:
        return None
    code = phonenumbers.country_code_for_region(region)
    return _metadata(region, code) if code else None


def _country_code_prefix(digits: bytes) -> tuple[int, bytes]:
    """libphonenumber's `_extract_country_code`: (0, digits) when none starts the digits."""
    if digits[:1] == b"0":
        return 0, digits
    for size in (1, 2, 3):
        code = _COUNTRY_CODES.get(digits[:size])
        if code is not None:
            return code, digits[size:]
    return 0, digits


def _country_code_without_plus(
    digits: bytes, default: _Metadata | None
) -> tuple[int, bytes] | None:
    """libphonenumber's `_maybe_extract_country_code` for digits without a plus.

    (0, b"") when the number has no country code; None where libphonenumber raises.
    """
    if default is None:
        return 0, b""
    idd = default.international_prefix
    match = idd.match(digits) if idd is not None else None
    # A zero after the international prefix means it was not one: no country code starts with 0.
    if match is not None and digits[match.end() : match.end() + 1] != b"0":
        rest = digits[match.end() :]
        if len(rest) <= _MIN_NSN_LENGTH:
            return None
        code, national = _country_code_prefix(rest)
        return (code, national) if code else None
    code_digits = default.country_code_digits
    if digits.startswith(code_digits):
        candidate = default.strip_national_prefix(digits[len(code_digits) :])
        if (not default.viable(digits) and default.viable(candidate)) or default.length_result(
            len(digits)
        ) == _Length.TOO_LONG:
            return default.country_code, candidate
    return 0, b""


def _parse(digits: bytes, plus: bool, default: _Metadata | None) -> tuple[int, bytes] | None:
    """The country code and national significant number `phonenumbers.parse` finds in `digits`.

    None where `parse` raises. `default` is the metadata of the region the number is read in.
    """
    if plus:
        if len(digits) <= _MIN_NSN_LENGTH:
            return None
        code, national = _country_code_prefix(digits)
        if not code:
            # libphonenumber then reads the digits as if the plus were not there ("+0031…").
            found = _country_code_without_plus(digits, default)
            if found is None or not found[0]:
                return None
            code, national = found
        metadata = None
    else:
        found = _country_code_without_plus(digits, default)
        if found is None:
            return None
        code, national = found
        metadata = None
        if not code:
            code, national, metadata = default.country_code, digits, default
    if metadata is None:
        main_region = COUNTRY_CODE_TO_REGION_CODE[code][0]
        if default is not None and main_region == default.region:
            metadata = default
        else:
            metadata = _metadata(main_region, code)
    if len(national) < _MIN_NSN_LENGTH:
        return None
    candidate = metadata.strip_national_prefix(national)
    if metadata.keeps_stripped(len(candidate)):
        national = candidate
    if not _MIN_NSN_LENGTH <= len(national) <= _MAX_NSN_LENGTH:
        return None
    return code, national


def _verdict(code: int, national: bytes, region: str) -> Normalised | None:
    """`is_valid_number`, `region_code_for_number` and `number_type`; None when invalid."""
    regions = COUNTRY_CODE_TO_REGION_CODE[code]
    owner = None
    if len(regions) == 1:
        owner = _metadata(regions[0], code)
    else:
        for candidate_region in regions:
            candidate = _metadata(candidate_region, code)
            if candidate is None:
                continue
            if candidate.leading_digits is not None:
                if candidate.leading_digits.match(national):
                    owner = candidate
                    break
            elif candidate.type_match(national):
                owner = candidate
                break
    if owner is None:
        return None
    match = owner.type_match(national)
    if match is None:
        return None
    number = int(owner.country_code_digits + national)
    if owner.region != region:
        return _new_normalised(Normalised, (number, Problem.FOREIGN))
    return _new_normalised(Normalised, (number, Problem.SERVICE if match.lastindex else None))


def _exact(digits: bytes, plus: bool, metadata: _Metadata) -> Normalised:
    """`normalise_slow` for ASCII digits read in `metadata`'s region, a plus before them or not."""
    parsed = _parse(digits, plus, metadata)
    if parsed is None:
        return INVALID
    verdict = _verdict(*parsed, metadata.region)
    if verdict is not None:
        return verdict
    # As the reference: digits-only E.164 of another country.
    if not plus and digits[:1] != b"0":
        foreign = _parse(digits, True, None)
        if foreign is not None:
            verdict = _verdict(*foreign, metadata.region)
            if verdict is not None and verdict.problem is Problem.FOREIGN:
                return verdict
    return INVALID


# A label before the number ("tel: 06 …", "mobiel +31 …"); `parse` starts reading at the first
# digit or plus. Three digits or more, so that `parse` sees a possible number.
_LABELLED = re.compile(rb"[A-Za-z:]+(\+?)([0-9]{3,})")


def _labelled(digits: bytes, metadata: _Metadata) -> Normalised | None:
    """`normalise_slow` for a label and a number; None for any other text."""
    match = _LABELLED.fullmatch(digits)
    if match is None:
        return None
    # With letters in the text the reference has no short-number or digits-only-E.164 reading.
    parsed = _parse(match[2], bool(match[1]), metadata)
    if parsed is None:
        return INVALID
    return _verdict(*parsed, metadata.region) or INVALID


def _common_shapes(metadata: _Metadata) -> bool:
    """Whether the common shapes can be read without `_parse` where that cannot differ from it.

    The region is the only one with its country code; its prefixes are plain digits (no
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
        COUNTRY_CODE_TO_REGION_CODE[metadata.country_code] == (metadata.region,)
        and plain.fullmatch(national_prefix) is not None
        and metadata.national_prefix_transform is None
        and len(international_prefix) > 0
        and plain.fullmatch(international_prefix) is not None
        and _country_code_prefix(metadata.country_code_digits)[0] == metadata.country_code
        and metadata.general is not None
        and len(lengths) > 0
        and lengths[-1] <= _MAX_NSN_LENGTH
        and not set(lengths) & set(metadata.local_only_lengths)
    )


def _fast_path(metadata: _Metadata) -> Callable[[str], Normalised | None]:
    """The same answer as `normalise_slow` for one region, or None where it cannot tell.

    A closure over the region's compiled metadata: the bulk paths call it a million times, and
    reading closure cells is several times cheaper than reading attributes.
    """
    code = metadata.country_code_digits
    code_length = len(code)
    types_by_length = metadata.types_by_length
    service = Problem.SERVICE
    general = metadata.general
    national_prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
    prefix_length = len(national_prefix)
    international_prefix = (
        metadata.international_prefix.pattern if metadata.international_prefix else b""
    )
    idd_length = len(international_prefix)
    # The common shapes are read below without `_parse`.
    common_shapes = _common_shapes(metadata)

    def fast(raw: str) -> Normalised | None:
        # As `_strip_artefacts`, on bytes; characters that are not ASCII become "?" and leave
        # the number to the slow path.
        text = raw.encode("ascii", "replace").strip().lstrip(b"'")
        if text[-2:] == b".0":
            text = text[:-2]
        if not text:
            return INVALID
        if len(text) > _MAX_INPUT_LENGTH:
            return None
        digits = text.translate(None, _SEPARATORS)
        if digits.isdigit():
            plus = False
            if len(digits) <= 6:
                # The reference's short-number rules (112, 1400x, …).
                return None
            if not common_shapes:
                return _exact(digits, plus, metadata)
            if digits.startswith(international_prefix):
                national = digits[idd_length:]
                if not national.startswith(code):
                    return _exact(digits, plus, metadata)
                national = national[code_length:]
            elif digits.startswith(code):
                # E.164 without the plus: `parse` takes the country code off when the digits as
                # they are do not fit the region's numbers and the rest does.
                national = digits[code_length:]
                if national.startswith(national_prefix):
                    national = national[prefix_length:]
                    if prefix_length and national.startswith(national_prefix):
                        return _exact(digits, plus, metadata)
                match = metadata.type_match(national)
                if match is None or general.fullmatch(digits) is not None:
                    return _exact(digits, plus, metadata)
                return _new_normalised(
                    Normalised, (int(code + national), service if match.lastindex else None)
                )
            else:
                national = digits
        elif digits[:1] == b"+" and digits[1:].isdigit():
            plus = True
            digits = digits[1:]
            if not common_shapes or not digits.startswith(code):
                return _exact(digits, plus, metadata)
            national = digits[code_length:]
        else:
            return _labelled(digits, metadata)
        # A valid number without the national prefix is viable, so `parse` strips the prefix.
        if national.startswith(national_prefix):
            national = national[prefix_length:]
        types_by_digit = types_by_length.get(len(national))
        if types_by_digit is not None:
            types = types_by_digit[national[0] - _ZERO]
            if types is not None:
                match = types.fullmatch(national)
                if match is not None:
                    return _new_normalised(
                        Normalised, (int(code + national), service if match.lastindex else None)
                    )
        return _exact(digits, plus, metadata)

    return fast


# How many digits of the national number the bulk path's first memo looks at: few enough to keep
# it small (a thousand entries a length), enough to decide most numbers (mobiles and most fixed
# lines of the Dutch and Belgian plans).
_MEMO_DIGITS = 3
# The fast path leaves digits this short to the reference's short-number rules.
_SHORT_LENGTH = 6
# Before the digits of "31…" (E.164 without a plus), which the fast path reads with more care.
_WRITTEN = b"9"

# Rows whose digits end in ". 0": `strip` and the ".0" rule see them differently once the spaces
# are gone. Matches end inside their row, so that the row is found by counting line breaks.
_SPACED_DECIMAL = re.compile(rb"\. +0 *(?=\n)")
_ANY_TEXT = re.compile(rb"[^\n]+")
# Verdicts of the memo that are not a problem: leave the row to the per-row way; look at more
# digits; and for "31…", the problem once the national prefix, if written, is taken out.
_PER_ROW = object()
_DEEPER = object()


class _Written(NamedTuple):
    problem: Problem | None
    prefix_length: int


class _Verdicts(dict):
    """Verdicts by key, worked out on first use."""

    def __init__(self, verdict: Callable[..., object]):
        super().__init__()
        self._verdict = verdict

    def __missing__(self, key) -> object:
        verdict = self[key] = self._verdict(key)
        return verdict


def _rows_of(blob: bytes, matches: Iterable[re.Match[bytes]]) -> list[int]:
    """The rows of `blob` (each after a line break) that `matches` end in, in order."""
    rows = []
    row = -1
    position = 0
    for match in matches:
        end = match.end()
        row += blob.count(b"\n", position, end)
        position = end
        rows.append(row)
    return rows


class _Bulk:
    """`Normaliser.many` for a region with the common shapes: the fast path for a whole batch.

    The text of all rows is cleaned at once (`bytes.translate`, `bytes.replace`) and each row's
    digits rewritten the way the fast path reads them: "+31 6…", "0031 6…", "06…" and "6…" all
    become "+316…", which `int` reads as the E.164 number; "31 6…" becomes "9316…", as the fast
    path reads those digits with more care. The verdict comes from a memo keyed by the number
    without its last digits: the type regexes look at no more than the first few digits of a
    number of a given length (`_depth`), and the number's size gives its length, so one number's
    verdict holds for every number with the same key. What is left in Python is a memo miss now
    and then, "31 6…", and the rows that are not common (letters, other punctuation, other
    countries, short numbers), which go the per-row way.
    """

    def __init__(self, metadata: _Metadata, common_length: int):
        self.metadata = metadata
        code = self.code = metadata.country_code_digits
        idd = metadata.international_prefix.pattern
        prefix = self.prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
        self.cut = 10 ** max(common_length - _MEMO_DIGITS, 0)
        depths = [depth for by_digit in metadata.type_depths.values() for depth in by_digit]
        self.deepest = max(
            [metadata.general_depth, *(depth for depth in depths if depth is not None)]
        )
        # Every row starts with `start`, so that digits without a head get the country code
        # too. The heads in the fast path's order, the international prefix before the country
        # code; each is taken off down to the national prefix, which then goes once for all.
        self.start = start = b"\n+" + code
        self.heads = [
            (start + code, b"\n" + _WRITTEN + code),
            (start + idd + code, start),
        ]
        self.foreign_idd = re.compile(re.escape(start + idd))
        self.plus_head = (start + b"+" + code, start)
        self.foreign_plus = re.compile(re.escape(start + b"+"))
        # Neither the plus every row starts with nor one the row itself starts with.
        self.misplaced_plus = re.compile(rb"(?<!\n)(?<!%s)\+" % re.escape(start))
        self.national_head = (start + prefix, start) if prefix else None

    def __call__(self, raws: list[str], per_row: Callable[[str], Normalised]) -> list[Normalised]:
        lines, odd = self._lines(raws)
        for row in odd:
            lines[row] = b"0"
        numbers = list(map(int, lines))
        verdicts = list(
            map(_Verdicts(self._first).__getitem__, map(floordiv, numbers, repeat(self.cut)))
        )
        # Named tuples are tracked by the cyclic garbage collector, and a million of them set
        # off hundreds of passes over everything the process holds; they cannot form a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            results = list(
                map(_new_normalised, repeat(Normalised), zip(numbers, verdicts, strict=True))
            )
        finally:
            if collecting:
                gc.enable()
        # Consumer numbers have no problem: only service numbers and the rest need a look.
        code = self.code
        deeper = _Verdicts(self._second)
        for row in compress(count(), verdicts):
            verdict = verdicts[row]
            if verdict is _DEEPER:
                line = lines[row]
                cut = 10 ** max(len(line) - len(code) - 1 - self.deepest, 0)
                verdict = deeper[numbers[row] // cut, cut]
                if verdict.__class__ is not _Written and verdict is not _PER_ROW:
                    results[row] = _new_normalised(Normalised, (numbers[row], verdict))
            if verdict.__class__ is _Written:
                national = lines[row][1 + len(code) + verdict.prefix_length :]
                results[row] = _new_normalised(Normalised, (int(code + national), verdict.problem))
            elif verdict is _PER_ROW:
                results[row] = per_row(raws[row])
        return results

    def _lines(self, raws: list[str]) -> tuple[list[bytes], list[int]]:
        """Each row's digits as the fast path reads them, and the rows to leave to per-row."""
        start = self.start[1:]
        text = self.start.decode().join(raws)
        if text.count("\n") != len(raws) - 1 or max(map(len, raws)) > _MAX_INPUT_LENGTH:
            # A row with a line break would read as two, and `parse` refuses overlong ones: both
            # go the per-row way, as empty rows here.
            text = self.start.decode().join(
                "" if "\n" in raw or len(raw) > _MAX_INPUT_LENGTH else raw for raw in raws
            )
        # Characters that are not ASCII become "?", one for one, and leave the row to per-row.
        blob = b"\n" + start + text.encode("ascii", "replace") + b"\n"
        odd = _rows_of(blob, _SPACED_DECIMAL.finditer(blob)) if b". " in blob else []
        # `_strip_artefacts` and the separators: the spaces go first, which strips the row; then
        # one apostrophe in front (more are left, and make the row unusual) and ".0" at the end.
        blob = blob.translate(None, b" ").replace(self.start + b"'", self.start)
        blob = blob.replace(b".0\n", b"\n").translate(None, _SEPARATORS)
        # Anything but digits and a plus in front goes the per-row way.
        unusual = blob.translate(None, b"0123456789+")
        odd += _rows_of(unusual, _ANY_TEXT.finditer(unusual))
        if blob.count(b"+") != len(raws) + blob.count(self.start + b"+"):
            odd += _rows_of(blob, self.misplaced_plus.finditer(blob))
        for head, rewritten in self.heads:
            blob = blob.replace(head, rewritten)
        odd += _rows_of(blob, self.foreign_idd.finditer(blob))
        blob = blob.replace(*self.plus_head)
        odd += _rows_of(blob, self.foreign_plus.finditer(blob))
        if self.national_head is not None:
            blob = blob.replace(*self.national_head)
        lines = blob.split(b"\n")
        del lines[0]
        lines.pop()
        return lines, odd

    def _first(self, key: int) -> object:
        return self._verdict(key, self.cut)

    def _second(self, key: tuple[int, int]) -> object:
        return self._verdict(*key)

    def _verdict(self, key: int, cut: int) -> object:
        """The problem of every number `n` with `n // cut == key`, or what else to do with it.

        Mirrors the fast path's roads, and looks only at the digits `key` holds: `_DEEPER` where
        the type regex looks further.
        """
        code, prefix, metadata = self.code, self.prefix, self.metadata
        digits = str(key).encode()
        length = len(digits) + len(str(cut)) - 1
        written = digits.startswith(_WRITTEN + code)
        head = len(_WRITTEN) + len(code) if written else len(code)
        if not written and not digits.startswith(code):
            return _PER_ROW
        prefix_length = len(prefix) if written and digits[head:].startswith(prefix) else 0
        head += prefix_length
        known = len(digits) - head
        national_length = length - head
        if national_length <= _SHORT_LENGTH:
            return _PER_ROW
        if known < 1:
            return _DEEPER
        # The digits after the known ones do not change the verdict: zeros stand for them.
        national = digits[head:].ljust(national_length, b"0")
        digit = national[0] - _ZERO
        types = metadata.types_by_length.get(national_length)
        if types is None or types[digit] is None:
            return _PER_ROW
        depth = metadata.type_depths[national_length][digit]
        if depth is None:
            return _PER_ROW
        if depth > known or (written and metadata.general_depth > len(digits) - len(_WRITTEN)):
            return _DEEPER
        match = types[digit].fullmatch(national)
        if match is None:
            return _PER_ROW
        problem = Problem.SERVICE if match.lastindex else None
        if not written:
            return problem
        # "31…": the code only when the digits are no national number as they are, and with the
        # national prefix after it only once.
        if (prefix_length and national.startswith(prefix)) or metadata.viable(
            code + prefix[:prefix_length] + national
        ):
            return _PER_ROW
        return _Written(problem, prefix_length)


def _bulk_path(metadata: _Metadata) -> _Bulk | None:
    """The bulk path for the region, where its shapes are common and its patterns bounded."""
    if not _common_shapes(metadata) or metadata.general_depth is None:
        return None
    code = metadata.country_code_digits
    idd = metadata.international_prefix.pattern
    prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
    # The rewrites must not read one head as another: the fast path tries the international
    # prefix before the country code, and the national prefix after both.
    if (
        idd.startswith(code)
        or code.startswith(idd)
        or (prefix and code.startswith(prefix))
        or (_WRITTEN + code).startswith(code)
    ):
        return None
    region_metadata = PhoneMetadata.metadata_for_region(metadata.region)
    lengths = [
        length
        for desc in (region_metadata.fixed_line, region_metadata.mobile)
        if desc is not None
        for length in desc.possible_length
    ]
    return _Bulk(metadata, min(lengths or metadata.possible_lengths))


# The verdict of a range of E.164 digits (see `e164_ranges`) whose numbers the normaliser reads
# one by one; "ok" is a consumer number's.
PER_NUMBER = "per_number"
CONSUMER = "ok"


@cache
def e164_ranges(region: str) -> tuple[tuple[int, ...], tuple[str, ...]] | None:
    """The normaliser's verdicts on digits already written as the region's E.164 numbers.

    For the bulk paths that read register files, where millions of numbers like `31612345678`
    arrive in this shape. The type patterns decide on the first few digits of a number of a
    given length (`_depth`, the same bound the bulk path memoises by), so the numbers split into
    ranges with one verdict each. Returns (starts, verdicts) in ascending order: every number
    `n` with `starts[i] <= n < starts[i + 1]` (and, for the last, at most 15 digits) that starts
    with the country code gets `verdicts[i]`: CONSUMER, a Problem's value, or PER_NUMBER where
    the digits may read otherwise (`318003819` is 0318 003819, not the toll-free 31 800 3819) or
    no bound is known, and the normaliser must read each. None where the region's shapes are not
    the common ones, or its patterns are unbounded.
    """
    metadata = _region_metadata(region)
    if metadata is None or not _common_shapes(metadata) or metadata.general_depth is None:
        return None
    code = metadata.country_code_digits
    idd = metadata.international_prefix.pattern
    prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
    # As for the bulk path: the digits must not read as the international or national prefix.
    if idd.startswith(code) or code.startswith(idd) or (prefix and code.startswith(prefix)):
        return None
    starts: list[int] = []
    verdicts: list[str] = []

    def add(start: int, verdict: str) -> None:
        if not verdicts or verdicts[-1] != verdict:
            starts.append(start)
            verdicts.append(verdict)

    for length in range(1, 16 - len(code)):
        base = int(code) * 10**length
        regexes = metadata.types_by_length.get(length)
        depths = metadata.type_depths.get(length)
        for first in range(10):
            start = base + first * 10 ** (length - 1)
            regex = regexes[first] if regexes else None
            depth = depths[first] if depths else None
            if (
                regex is None
                or depth is None
                or length <= _SHORT_LENGTH
                or (prefix and prefix[0] - _ZERO == first)
            ):
                add(start, PER_NUMBER)
                continue
            # The digits that decide: the type regex's, and the general description's over the
            # whole digits, which says whether they read as a national number.
            known = min(max(depth, metadata.general_depth - len(code), 1), length)
            step = 10 ** (length - known)
            for head in range(first * 10 ** (known - 1), (first + 1) * 10 ** (known - 1)):
                national = b"%d" % (head * step)
                match = regex.fullmatch(national)
                if match is None or metadata.viable(code + national):
                    verdict = PER_NUMBER
                else:
                    verdict = Problem.SERVICE.value if match.lastindex else CONSUMER
                add(base + head * step, verdict)
        # Numbers that do not start with the country code.
        add((int(code) + 1) * 10**length, PER_NUMBER)
    return tuple(starts), tuple(verdicts)


class Normaliser:
    """Normalises many numbers for one register's region: the entry point of the bulk paths."""

    def __init__(self, region: str):
        metadata = _region_metadata(region)
        if metadata is None:
            raise ValueError(f"libphonenumber has no metadata for region {region!r}")
        self.region = region
        self._fast = _fast_path(metadata)
        self._bulk = _bulk_path(metadata)
        # What people type where they have no number ("n.v.t.", "onbekend", "-") repeats down a
        # file, and libphonenumber takes some 25 µs a row to refuse it: each text read once.
        self._slow = lru_cache(maxsize=4096)(partial(normalise_slow, region=region))

    def __call__(self, raw: str) -> Normalised:
        return self._fast(raw) or self._slow(raw)

    def many(self, raws: Iterable[str]) -> list[Normalised]:
        raws = raws if isinstance(raws, list) else list(raws)
        if not raws:
            return []
        if self._bulk is not None:
            return self._bulk(raws, self)
        # `map` runs the loop in C, and so does finding the few rows the fast path leaves.
        results = list(map(self._fast, raws))
        for position in compress(count(), map(not_, results)):
            results[position] = self._slow(raws[position])
        return results


@cache
def _normaliser(region: str) -> Normaliser:
    return Normaliser(region)


def normalise(raw: str, region: str) -> Normalised:
    return _normaliser(region)(raw)
