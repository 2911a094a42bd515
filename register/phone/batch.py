"""The bulk path: `Normaliser.many` for a whole batch of a region's common shapes at once."""

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import eq

import numpy as np
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from register.phone.metadata import (
    MAX_INPUT_LENGTH,
    SEPARATORS,
    SHORT_LENGTH,
    Metadata,
    common_shapes,
    new_normalised,
)
from register.phone.ranges import CONSUMER, NO_TYPE, PER_NUMBER, e164_ranges
from register.phone.reference import Normalised, Problem
from register.words import ZEROS, all_digits, eight_digits, lane_masks, words_at

# The digits of a row read eight bytes at a time: two words' worth. The ranges end at E.164's
# 15 digits, and longer numbers go the per-row way (in an int64, too, they would overflow).
_WIDEST = 16
_E164_DIGITS = 15

# Rows whose digits end in ". 0": `strip` and the ".0" rule see them differently once the spaces
# are gone. Matches end inside their row, so that the row is found by counting line breaks.
_SPACED_DECIMAL = re.compile(rb"\. +0 *(?=\n)")
# A row's verdict from its number's range: a consumer's number, a service number, the per-row
# way, no type pattern matches, and not a valid number; and the problem each stands for.
_CONSUMER, _SERVICE, _PER_ROW, _NO_TYPE, _INVALID = range(5)
_PROBLEMS = np.array([None, Problem.SERVICE, None, None, Problem.INVALID], dtype=object)


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

    The text of all rows is cleaned at once (`bytes.translate`, `bytes.replace`), then each
    row's head is read as the fast path reads it, for all rows at once, eight bytes to a numpy
    word (`register.words`): "+31 6…", "0031 6…", "06…" and "6…" are all the E.164 number
    "316…"; "31 6…" is too, but the fast path reads those digits with more care. The numbers
    are read eight digits at a time, and each gets its verdict from the range of the number
    plan it falls in: the type regexes look at no more than the first few digits of a number
    of a given length (`patterns.depth`), so the numbers split into ranges with one verdict
    each, worked out from libphonenumber's metadata once (`e164_ranges`: with a plus for the
    first shapes, without for "31 6…"). What is left in Python is the rows that are not
    common (letters, other punctuation, other countries, short numbers, ranges that call for
    it), which go the per-row way.

    Must equal `[per_row(raw) for raw in raws]`, that is `normalise_slow` row by row: see
    `Normaliser.many`, whose tests hold it to that.
    """

    def __init__(self, metadata: Metadata, plus_ranges: tuple, written_ranges: tuple):
        self.code = code = metadata.country_code_digits
        self.idd = idd = metadata.international_prefix.pattern
        self.prefix = prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
        # The national prefix in front of digits of each width, for the numbers read with it.
        self.prefix_places = int(prefix or b"0") * 10 ** np.arange(_WIDEST + 1, dtype=np.int64)
        self.idd_code = idd + code
        self.plus_code = b"+" + code
        # 10 to the power of each width of the digits after the head, the country code's place.
        self.code_places = int(code) * 10 ** np.arange(_WIDEST + 1 + 8, dtype=np.int64)
        self.code_length = len(code)
        # A country code other regions share (the US's +1 with Canada's): a number no type of
        # this region matches may be theirs.
        self.code_shared = len(COUNTRY_CODE_TO_REGION_CODE[metadata.country_code]) > 1
        # Each behind a range that starts at 0, so that every number falls in one.
        self.plus_starts, self.plus_verdicts = self._ranges(*plus_ranges)
        self.written_starts, self.written_verdicts = self._ranges(*written_ranges)
        # Per width of the digits: the bytes of a row's last two words they leave out.
        self.outside = ~lane_masks(_WIDEST, 2, at_end=True)

    @staticmethod
    def _ranges(starts: tuple[int, ...], verdicts: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        codes = {
            CONSUMER: _CONSUMER,
            Problem.SERVICE.value: _SERVICE,
            PER_NUMBER: _PER_ROW,
            NO_TYPE: _NO_TYPE,
        }
        return (
            np.array([0, *starts], dtype=np.int64),
            np.array([_PER_ROW, *(codes.get(verdict, _PER_ROW) for verdict in verdicts)]),
        )

    def __call__(self, raws: list[str], per_row: Callable[[str], Normalised]) -> "Batch":
        blob, odd = self._text(raws)
        data = np.frombuffer(blob, dtype=np.uint8)
        breaks = np.flatnonzero(data == ord("\n"))
        firsts, ends = breaks[:-1] + 1, breaks[1:]
        # 16 bytes before the text, for the words that end a row; 8 after, for those that
        # start one.
        padded = np.zeros(16 + len(data) + 8, dtype=np.uint8)
        padded[16 : 16 + len(data)] = data
        words = words_at(padded)
        skips, written, national, odd_heads = self._heads(words, firsts + 16)
        # The digits after the head, as the last 16 bytes before the row's end, those before
        # the digits written as zeros.
        widths = ends - firsts - skips
        narrow = np.clip(widths, 0, _WIDEST)
        high, low = words[ends], words[ends + 8]
        outside = self.outside[0][narrow]
        high = (high & ~outside) | (ZEROS & outside)
        outside = self.outside[1][narrow]
        low = (low & ~outside) | (ZEROS & outside)
        digits = eight_digits(high) * 100_000_000 + eight_digits(low)
        longest = np.where(written, _E164_DIGITS, _E164_DIGITS - self.code_length)
        readable = (widths <= longest) & all_digits(high) & all_digits(low) & ~odd_heads
        readable[odd] = False
        # The E.164 number: "31…" is one already; the others' digits follow the country code.
        numbers = np.where(written, digits, self.code_places[narrow] + digits)
        # Where the number falls: the last range that starts at or below it.
        verdicts = np.full(len(raws), _PER_ROW, dtype=np.int64)
        for kind, starts, ranges in (
            (~written, self.plus_starts, self.plus_verdicts),
            (written, self.written_starts, self.written_verdicts),
        ):
            rows = np.flatnonzero(readable & kind)
            verdicts[rows] = ranges[np.searchsorted(starts, numbers[rows], side="right") - 1]
        if not self.code_shared:
            self._national_invalid(verdicts, national, narrow, digits)
        verdicts[verdicts == _NO_TYPE] = _PER_ROW
        problems = _PROBLEMS[verdicts].tolist()
        numbers = numbers.tolist()
        for row in np.flatnonzero(verdicts == _INVALID).tolist():
            numbers[row] = None
        for row in np.flatnonzero(verdicts == _PER_ROW).tolist():
            numbers[row], problems[row] = per_row(raws[row])
        return Batch(numbers, problems)

    def _national_invalid(
        self, verdicts: np.ndarray, national: np.ndarray, widths: np.ndarray, digits: np.ndarray
    ) -> None:
        """Rows written with the national prefix ("0…") that no type pattern matches, with the
        prefix or without: invalid.

        The fast path reads such digits (longer than short numbers) as the region's national
        number, the prefix taken off or kept as libphonenumber decides; either way no type
        matches, and the digits start with the prefix, so they are no other country's either.
        """
        rows = np.flatnonzero(national & (verdicts == _NO_TYPE))
        prefix_length = len(self.prefix)
        widths = widths[rows]
        rows = rows[widths + prefix_length > SHORT_LENGTH]
        widths = widths[widths + prefix_length > SHORT_LENGTH]
        kept = self.code_places[widths + prefix_length] + self.prefix_places[widths] + digits[rows]
        with_prefix = self.plus_verdicts[np.searchsorted(self.plus_starts, kept, side="right") - 1]
        verdicts[rows[with_prefix == _NO_TYPE]] = _INVALID

    def _heads(self, words: np.ndarray, firsts: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per row (its words at `firsts`): how many bytes its head takes, whether it is "31…",
        whether it is the national prefix alone ("0…"), and whether the head leaves it to
        per-row, as the fast path reads them.

        The fast path tries the international prefix before the country code, a plus and its
        country code, and takes off one national prefix after any of them.
        """
        head = words[firsts]
        written = _starts(head, self.code)
        idd = _starts(head, self.idd)
        via_idd = _starts(head, self.idd_code)
        plus = _starts(head, self.plus_code)
        # Another country's international prefix or plus, or a plus here and not in front.
        odd = (idd & ~via_idd) | (_starts(head, b"+") & ~plus)
        skips = np.zeros(len(firsts), dtype=np.int64)
        skips[via_idd] = len(self.idd_code)
        skips[plus] = len(self.plus_code)
        national = np.zeros(len(firsts), dtype=bool)
        if self.prefix:
            rest = words[firsts + skips]
            # After the international prefix and country code, another international prefix.
            odd |= via_idd & _starts(rest, self.idd)
            prefixed = (via_idd | plus | ~(idd | written)) & _starts(rest, self.prefix)
            skips[prefixed] += len(self.prefix)
            national = prefixed & ~(via_idd | plus)
        return skips, written, national, odd

    def _text(self, raws: list[str]) -> tuple[bytes, list[int]]:
        """The rows' text cleaned as the fast path cleans it, each after a line break and the
        last followed by one, and rows to leave to per-row that the text no longer shows."""
        text = "\n".join(raws)
        if text.count("\n") != len(raws) - 1 or max(map(len, raws)) > MAX_INPUT_LENGTH:
            # A row with a line break would read as two, and `parse` refuses overlong ones: both
            # go the per-row way, as empty rows here.
            text = "\n".join(
                "" if "\n" in raw or len(raw) > MAX_INPUT_LENGTH else raw for raw in raws
            )
        # Characters that are not ASCII become "?", one for one, and leave the row to per-row.
        blob = b"\n" + text.encode("ascii", "replace") + b"\n"
        odd = _rows_of(blob, _SPACED_DECIMAL.finditer(blob)) if b". " in blob else []
        # `strip_artefacts` and the separators: the spaces go first, which strips the row; then
        # one apostrophe in front (more are left, and make the row unusual) and ".0" at the end.
        blob = blob.translate(None, b" ").replace(b"\n'", b"\n")
        blob = blob.replace(b".0\n", b"\n").translate(None, SEPARATORS)
        return blob, odd


def _starts(words: np.ndarray, text: bytes) -> np.ndarray:
    """Whether the bytes of each word start with `text` (at most 8 bytes)."""
    mask = np.uint64((1 << 8 * len(text)) - 1)
    return (words & mask) == np.uint64(int.from_bytes(text, "little"))


def bulk_path(metadata: Metadata) -> _Bulk | None:
    """The bulk path for the region, where its shapes are common and its patterns bounded."""
    if not common_shapes(metadata) or metadata.general_depth is None:
        return None
    code = metadata.country_code_digits
    idd = metadata.international_prefix.pattern
    prefix = metadata.national_prefix.pattern if metadata.national_prefix else b""
    # No head may read as another: the fast path tries the international prefix before the
    # country code, and the national prefix after both. Each is read from one word.
    if idd.startswith(code) or code.startswith(idd) or len(idd + code) > 8 or len(prefix) > 8:
        return None
    plus_ranges = e164_ranges(metadata.region, plus=True)
    written_ranges = e164_ranges(metadata.region)
    if plus_ranges is None or written_ranges is None:
        return None
    return _Bulk(metadata, plus_ranges, written_ranges)
