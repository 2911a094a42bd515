"""The fast path: `normalise_slow`'s answer for one number without `phonenumbers.parse`.

For the shapes people and spreadsheets produce (digits, an optional leading plus, separators)
it replays what `parse`, `is_valid_number` and `number_type` do on the region's compiled
metadata; anything else it leaves to the reference (None).
"""

import re
from collections.abc import Callable

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from register.phone.metadata import (
    MAX_INPUT_LENGTH,
    MAX_NSN_LENGTH,
    MIN_NSN_LENGTH,
    SEPARATORS,
    ZERO,
    Length,
    Metadata,
    common_shapes,
    country_code_prefix,
    metadata_for,
    new_normalised,
)
from register.phone.reference import INVALID, Normalised, Problem


def _country_code_without_plus(digits: bytes, default: Metadata | None) -> tuple[int, bytes] | None:
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
        if len(rest) <= MIN_NSN_LENGTH:
            return None
        code, national = country_code_prefix(rest)
        return (code, national) if code else None
    code_digits = default.country_code_digits
    if digits.startswith(code_digits):
        candidate = default.strip_national_prefix(digits[len(code_digits) :])
        if (not default.viable(digits) and default.viable(candidate)) or default.length_result(
            len(digits)
        ) == Length.TOO_LONG:
            return default.country_code, candidate
    return 0, b""


def _parse(digits: bytes, plus: bool, default: Metadata | None) -> tuple[int, bytes] | None:
    """The country code and national significant number `phonenumbers.parse` finds in `digits`.

    None where `parse` raises. `default` is the metadata of the region the number is read in.
    """
    if plus:
        if len(digits) <= MIN_NSN_LENGTH:
            return None
        code, national = country_code_prefix(digits)
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
            metadata = metadata_for(main_region, code)
    if len(national) < MIN_NSN_LENGTH:
        return None
    candidate = metadata.strip_national_prefix(national)
    if metadata.keeps_stripped(len(candidate)):
        national = candidate
    if not MIN_NSN_LENGTH <= len(national) <= MAX_NSN_LENGTH:
        return None
    return code, national


def _verdict(code: int, national: bytes, region: str) -> Normalised | None:
    """`is_valid_number`, `region_code_for_number` and `number_type`; None when invalid."""
    regions = COUNTRY_CODE_TO_REGION_CODE[code]
    owner = None
    if len(regions) == 1:
        owner = metadata_for(regions[0], code)
    else:
        for candidate_region in regions:
            candidate = metadata_for(candidate_region, code)
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
        return new_normalised(Normalised, (number, Problem.FOREIGN))
    return new_normalised(Normalised, (number, Problem.SERVICE if match.lastindex else None))


def _exact(digits: bytes, plus: bool, metadata: Metadata) -> Normalised:
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


def _labelled(digits: bytes, metadata: Metadata) -> Normalised | None:
    """`normalise_slow` for a label and a number; None for any other text."""
    match = _LABELLED.fullmatch(digits)
    if match is None:
        return None
    # With letters in the text the reference has no short-number or digits-only-E.164 reading.
    parsed = _parse(match[2], bool(match[1]), metadata)
    if parsed is None:
        return INVALID
    return _verdict(*parsed, metadata.region) or INVALID


def fast_path(metadata: Metadata) -> Callable[[str], Normalised | None]:
    """The same answer as `normalise_slow` for one region, or None where it cannot tell.

    Must equal `normalise_slow(raw, region)` wherever it answers: held to it by
    `test_the_fast_path_agrees_with_phonenumbers` (hypothesis) and
    `test_every_region_agrees_and_answers_its_own_example_numbers`
    (tests/register/phone/test_normalise.py).

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
    common = common_shapes(metadata)

    def fast(raw: str) -> Normalised | None:
        # As `strip_artefacts`, on bytes; characters that are not ASCII become "?" and leave
        # the number to the slow path.
        text = raw.encode("ascii", "replace").strip().lstrip(b"'")
        if text[-2:] == b".0":
            text = text[:-2]
        if not text:
            return INVALID
        if len(text) > MAX_INPUT_LENGTH:
            return None
        digits = text.translate(None, SEPARATORS)
        if digits.isdigit():
            plus = False
            if len(digits) <= 6:
                # The reference's short-number rules (112, 1400x, …).
                return None
            if not common:
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
                return new_normalised(
                    Normalised, (int(code + national), service if match.lastindex else None)
                )
            else:
                national = digits
        elif digits[:1] == b"+" and digits[1:].isdigit():
            plus = True
            digits = digits[1:]
            if not common or not digits.startswith(code):
                return _exact(digits, plus, metadata)
            national = digits[code_length:]
        else:
            return _labelled(digits, metadata)
        # A valid number without the national prefix is viable, so `parse` strips the prefix.
        if national.startswith(national_prefix):
            national = national[prefix_length:]
        types_by_digit = types_by_length.get(len(national))
        if types_by_digit is not None:
            types = types_by_digit[national[0] - ZERO]
            if types is not None:
                match = types.fullmatch(national)
                if match is not None:
                    return new_normalised(
                        Normalised, (int(code + national), service if match.lastindex else None)
                    )
        return _exact(digits, plus, metadata)

    return fast
