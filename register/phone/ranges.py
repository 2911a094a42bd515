"""The normaliser's verdicts on whole ranges of E.164 digits, for the register file import."""

from functools import cache

from register.phone.metadata import SHORT_LENGTH, ZERO, common_shapes, region_metadata
from register.phone.reference import Problem

# The verdict of a range of E.164 digits (see `e164_ranges`) whose numbers the normaliser reads
# one by one; "ok" is a consumer number's; and, after a plus, that none of the region's type
# patterns matches the national number.
PER_NUMBER = "per_number"
CONSUMER = "ok"
NO_TYPE = "no_type"


@cache
def e164_ranges(
    region: str, *, plus: bool = False
) -> tuple[tuple[int, ...], tuple[str, ...]] | None:
    """The normaliser's verdicts on digits already written as the region's E.164 numbers.

    For the bulk paths that read register files, where millions of numbers like `31612345678`
    arrive in this shape. The type patterns decide on the first few digits of a number of a
    given length (`depth`, the same bound the bulk path memoises by), so the numbers split into
    ranges with one verdict each. Returns (starts, verdicts) in ascending order: every number
    `n` with `starts[i] <= n < starts[i + 1]` (and, for the last, at most 15 digits) that starts
    with the country code gets `verdicts[i]`: CONSUMER, a Problem's value, or PER_NUMBER where
    the digits may read otherwise (`318003819` is 0318 003819, not the toll-free 31 800 3819) or
    no bound is known, and the normaliser must read each. None where the region's shapes are not
    the common ones, or its patterns are unbounded.

    With `plus`, the verdicts on the digits after a plus ("+31…", and what the bulk path
    reads as it): the country code is then never part of a national number, so only the type
    patterns decide (the bulk path, `register.phone.batch`); and where none matches the
    national number, NO_TYPE (except for short numbers), which the bulk path reads further.

    Must equal the normaliser's reading of every number it does not leave PER_NUMBER: held to
    it by `test_canonical_numbers_get_the_normalisers_verdict_from_their_range`
    (tests/register/bulk/test_import.py).
    """
    metadata = region_metadata(region)
    if metadata is None or not common_shapes(metadata) or metadata.general_depth is None:
        return None
    code = metadata.country_code_digits
    idd = metadata.international_prefix.pattern
    prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
    # As for the bulk path: the digits must not read as the international or national prefix.
    if idd.startswith(code) or code.startswith(idd):
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
            if plus and regex is None and length > SHORT_LENGTH:
                add(start, NO_TYPE)
                continue
            if (
                regex is None
                or depth is None
                or length <= SHORT_LENGTH
                or (not plus and prefix and prefix[0] - ZERO == first)
            ):
                add(start, PER_NUMBER)
                continue
            # The digits that decide: the type regex's, and (without a plus) the general
            # description's over the whole digits, which says whether they read as a national
            # number.
            national_depth = 1 if plus else metadata.general_depth - len(code)
            known = min(max(depth, national_depth, 1), length)
            step = 10 ** (length - known)
            for head in range(first * 10 ** (known - 1), (first + 1) * 10 ** (known - 1)):
                national = b"%0*d" % (length, head * step)
                match = regex.fullmatch(national)
                if match is None and plus:
                    verdict = NO_TYPE
                elif match is None or (not plus and metadata.viable(code + national)):
                    verdict = PER_NUMBER
                else:
                    verdict = Problem.SERVICE.value if match.lastindex else CONSUMER
                add(base + head * step, verdict)
        # Numbers that do not start with the country code.
        add((int(code) + 1) * 10**length, PER_NUMBER)
    return tuple(starts), tuple(verdicts)
