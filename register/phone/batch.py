"""The bulk path: `Normaliser.many` for a whole batch of a region's common shapes at once."""

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import eq

import numpy as np

from register.phone.metadata import (
    MAX_INPUT_LENGTH,
    SEPARATORS,
    Metadata,
    common_shapes,
    new_normalised,
)
from register.phone.ranges import CONSUMER, PER_NUMBER, e164_ranges
from register.phone.reference import Normalised, Problem
from register.words import ZEROS, all_digits, eight_digits, lane_masks, words_at

# Before the digits of "31…" (E.164 without a plus), which the fast path reads with more care.
_WRITTEN = b"9"
# The digits a row's number may have to be read eight bytes at a time: two words' worth, and
# more than any number in E.164 (15).
_WIDEST = 16

# Rows whose digits end in ". 0": `strip` and the ".0" rule see them differently once the spaces
# are gone. Matches end inside their row, so that the row is found by counting line breaks.
_SPACED_DECIMAL = re.compile(rb"\. +0 *(?=\n)")
_ANY_TEXT = re.compile(rb"[^\n]+")
# A row's verdict from its number's range: a consumer's number, a service number, or the per-row
# way; and the problem each stands for.
_CONSUMER, _SERVICE, _PER_ROW = range(3)
_PROBLEMS = np.array([None, Problem.SERVICE, None], dtype=object)


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
    become "+316…", whose digits are the E.164 number; "31 6…" becomes "9316…", as the fast
    path reads those digits with more care. Then the numbers are read eight digits at a time
    (`register.words`) and each gets its verdict from the range of the number plan it falls in:
    the type regexes look at no more than the first few digits of a number of a given length
    (`patterns.depth`), so the numbers split into ranges with one verdict each, worked out from
    libphonenumber's metadata once (`e164_ranges`, with a plus for the first shape, without for
    "31 6…"). What is left in Python is the rows that are not common (letters, other
    punctuation, other countries, short numbers, ranges that call for it), which go the per-row
    way.

    Must equal `[per_row(raw) for raw in raws]`, that is `normalise_slow` row by row: see
    `Normaliser.many`, whose tests hold it to that.
    """

    def __init__(self, metadata: Metadata, plus_ranges: tuple, written_ranges: tuple):
        code = metadata.country_code_digits
        idd = metadata.international_prefix.pattern
        prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
        # Each behind a range that starts at 0, so that every number falls in one.
        self.plus_starts, self.plus_verdicts = self._ranges(*plus_ranges)
        self.written_starts, self.written_verdicts = self._ranges(*written_ranges)
        # Per width of the digits: the bytes of a row's last two words they leave out.
        self.outside = ~lane_masks(_WIDEST, 2, at_end=True)
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

    @staticmethod
    def _ranges(starts: tuple[int, ...], verdicts: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        codes = {CONSUMER: _CONSUMER, Problem.SERVICE.value: _SERVICE, PER_NUMBER: _PER_ROW}
        return (
            np.array([0, *starts], dtype=np.int64),
            np.array([_PER_ROW, *(codes.get(verdict, _PER_ROW) for verdict in verdicts)]),
        )

    def __call__(self, raws: list[str], per_row: Callable[[str], Normalised]) -> "Batch":
        blob, odd = self._lines(raws)
        data = np.frombuffer(blob, dtype=np.uint8)
        breaks = np.flatnonzero(data == ord("\n"))
        firsts, ends = breaks[:-1] + 1, breaks[1:]
        # The digits after a row's first character (its plus, or the mark of "31…"), as the
        # last 16 bytes before its end, those before the digits written as zeros.
        widths = ends - firsts - 1
        padded = np.zeros(16 + len(data), dtype=np.uint8)
        padded[16:] = data
        words = words_at(padded)
        narrow = np.clip(widths, 0, _WIDEST)
        high, low = words[ends], words[ends + 8]
        outside = self.outside[0][narrow]
        high = (high & ~outside) | (ZEROS & outside)
        outside = self.outside[1][narrow]
        low = (low & ~outside) | (ZEROS & outside)
        numbers = eight_digits(high) * 100_000_000 + eight_digits(low)
        readable = (widths >= 1) & (widths <= _WIDEST) & all_digits(high) & all_digits(low)
        readable[odd] = False
        marks = data[firsts]
        # Where the number falls: the last range that starts at or below it.
        verdicts = np.full(len(raws), _PER_ROW, dtype=np.int64)
        for mark, starts, ranges in (
            (ord("+"), self.plus_starts, self.plus_verdicts),
            (_WRITTEN[0], self.written_starts, self.written_verdicts),
        ):
            rows = np.flatnonzero(readable & (marks == mark))
            verdicts[rows] = ranges[np.searchsorted(starts, numbers[rows], side="right") - 1]
        problems = _PROBLEMS[verdicts].tolist()
        numbers = numbers.tolist()
        for row in np.flatnonzero(verdicts == _PER_ROW).tolist():
            numbers[row], problems[row] = per_row(raws[row])
        return Batch(numbers, problems)

    def _lines(self, raws: list[str]) -> tuple[bytes, list[int]]:
        """The rows' digits as the fast path reads them, each after a line break and the last
        followed by one, and the rows to leave to per-row."""
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
        return blob, odd


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
    plus_ranges = e164_ranges(metadata.region, plus=True)
    written_ranges = e164_ranges(metadata.region)
    if plus_ranges is None or written_ranges is None:
        return None
    return _Bulk(metadata, plus_ranges, written_ranges)
