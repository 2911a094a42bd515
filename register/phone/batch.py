"""The bulk path: `Normaliser.many` for a whole batch of a region's common shapes at once."""

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, count, repeat
from operator import eq, floordiv
from typing import NamedTuple

from phonenumbers import PhoneMetadata

from register.phone.metadata import (
    MAX_INPUT_LENGTH,
    SEPARATORS,
    ZERO,
    Metadata,
    common_shapes,
    new_normalised,
)
from register.phone.reference import Normalised, Problem

# How many digits of the national number the bulk path's first memo looks at: few enough to keep
# it small (a thousand entries a length), enough to decide most numbers (mobiles and most fixed
# lines of the Dutch and Belgian plans).
_MEMO_DIGITS = 3
# The fast path leaves digits this short to the reference's short-number rules.
SHORT_LENGTH = 6
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


class Batch(Sequence):
    """`Normaliser.many`'s answer: a `Normalised` per row, made as the rows are read.

    It holds two plain lists, the numbers and the problems, not a million named tuples at once:
    those are tracked by the cyclic garbage collector, and holding that many sets off
    collections whose cost grows with everything the process holds. A caller that loops over
    the rows makes one tuple at a time, and lets it go.
    """

    __slots__ = ("numbers", "problems")

    def __init__(self, numbers: list[int | None], problems: list[Problem | None]):
        self.numbers = numbers
        self.problems = problems

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[Normalised]:
        return map(
            new_normalised, repeat(Normalised), zip(self.numbers, self.problems, strict=True)
        )

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(
                map(
                    new_normalised,
                    repeat(Normalised),
                    zip(self.numbers[index], self.problems[index], strict=True),
                )
            )
        return new_normalised(Normalised, (self.numbers[index], self.problems[index]))

    def __eq__(self, other) -> bool:
        if isinstance(other, Batch):
            return self.numbers == other.numbers and self.problems == other.problems
        if isinstance(other, list | tuple):
            return len(other) == len(self) and all(map(eq, self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"Batch({list(self)!r})"


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
    number of a given length (`depth`), and the number's size gives its length, so one number's
    verdict holds for every number with the same key. What is left in Python is a memo miss now
    and then, "31 6…", and the rows that are not common (letters, other punctuation, other
    countries, short numbers), which go the per-row way.

    Must equal `[per_row(raw) for raw in raws]`, that is `normalise_slow` row by row: see
    `Normaliser.many`, whose tests hold it to that.
    """

    def __init__(self, metadata: Metadata, common_length: int):
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

    def __call__(self, raws: list[str], per_row: Callable[[str], Normalised]) -> "Batch":
        lines, odd = self._lines(raws)
        for row in odd:
            lines[row] = b"0"
        numbers = list(map(int, lines))
        # The first memo's verdict, which for most rows is already the problem (None).
        problems = list(
            map(_Verdicts(self._first).__getitem__, map(floordiv, numbers, repeat(self.cut)))
        )
        # Consumer numbers have no problem: only service numbers and the rest need a look.
        code = self.code
        deeper = _Verdicts(self._second)
        for row in compress(count(), problems):
            verdict = problems[row]
            if verdict is _DEEPER:
                line = lines[row]
                cut = 10 ** max(len(line) - len(code) - 1 - self.deepest, 0)
                verdict = problems[row] = deeper[numbers[row] // cut, cut]
            if verdict.__class__ is _Written:
                national = lines[row][1 + len(code) + verdict.prefix_length :]
                numbers[row] = int(code + national)
                problems[row] = verdict.problem
            elif verdict is _PER_ROW:
                numbers[row], problems[row] = per_row(raws[row])
        return Batch(numbers, problems)

    def _lines(self, raws: list[str]) -> tuple[list[bytes], list[int]]:
        """Each row's digits as the fast path reads them, and the rows to leave to per-row."""
        start = self.start[1:]
        text = self.start.decode().join(raws)
        if text.count("\n") != len(raws) - 1 or max(map(len, raws)) > MAX_INPUT_LENGTH:
            # A row with a line break would read as two, and `parse` refuses overlong ones: both
            # go the per-row way, as empty rows here.
            text = self.start.decode().join(
                "" if "\n" in raw or len(raw) > MAX_INPUT_LENGTH else raw for raw in raws
            )
        # Characters that are not ASCII become "?", one for one, and leave the row to per-row.
        blob = b"\n" + start + text.encode("ascii", "replace") + b"\n"
        odd = _rows_of(blob, _SPACED_DECIMAL.finditer(blob)) if b". " in blob else []
        # `strip_artefacts` and the separators: the spaces go first, which strips the row; then
        # one apostrophe in front (more are left, and make the row unusual) and ".0" at the end.
        blob = blob.translate(None, b" ").replace(self.start + b"'", self.start)
        blob = blob.replace(b".0\n", b"\n").translate(None, SEPARATORS)
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
        if national_length <= SHORT_LENGTH:
            return _PER_ROW
        if known < 1:
            return _DEEPER
        # The digits after the known ones do not change the verdict: zeros stand for them.
        national = digits[head:].ljust(national_length, b"0")
        digit = national[0] - ZERO
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


def bulk_path(metadata: Metadata) -> _Bulk | None:
    """The bulk path for the region, where its shapes are common and its patterns bounded."""
    if not common_shapes(metadata) or metadata.general_depth is None:
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
