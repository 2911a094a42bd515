"""Register import and export at COPY speed (SPEC §5 admin import, §16 commands).

The import reads the file once, in blocks, into numpy arrays: one row for each line that carries
a number, with its line number. Lines already in the register's own shape (the country's E.164
digits, a date that exists and is not in the future, the register's category codes in its
order) are checked and parsed vectorised, a block at a time, eight bytes to a numpy word, and
their numbers judged by the ranges of the number plan they fall in
(`register.phone.e164_ranges`); only other lines, and numbers whose range calls for it, are
read one by one by the normaliser and Python's date and category rules. Then the numbers are
sorted in the client, and a part at a time, while PostgreSQL loads the parts before, each
number keeps its first line, numbers already registered are left out, and the rows go by number
through one binary COPY into the register, written straight from a numpy array in PostgreSQL's
binary row layout. The history gets one row, the RegisterImport, which the loaded numbers point
to. All of it is one transaction.
"""

import hashlib
import io
import itertools
import logging
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from heapq import merge
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg.copy import QueuedLibpqWriter

from register.copy import copy_out
from register.errors import DomainError
from register.models import ALL_CATEGORIES, Channel, Register, RegisterImport
from register.phone import CONSUMER, PER_NUMBER, Normaliser, Problem, e164_ranges

logger = logging.getLogger(__name__)

# Half a megabyte: the arrays of a block's lines then stay in the processor's cache (parsing
# 10M lines 3.4 s in blocks of 8 MB, 2.1 s in these).
BLOCK_BYTES = 1 << 19
# Rows of the file's order written at a time to the load's COPY stream: 16 MB at most.
LOAD_ROWS = 1 << 18
_BOM = b"\xef\xbb\xbf"
_EPOCH = date(2000, 1, 1)
# PostgreSQL's dates count days from 2000-01-01, numpy's from 1970-01-01.
_EPOCH_DAYS = (_EPOCH - date(1970, 1, 1)).days


class SkipReason(models.TextChoices):
    INVALID = "invalid", _("not a valid phone number")
    FOREIGN = "foreign", _("a number of another country")
    SERVICE = "service", _("a service number, not a consumer's")
    BAD_DATE = "bad_date", _("registration date not YYYY-MM-DD or in the future")
    UNKNOWN_CATEGORY = "unknown_category", _("unknown category")
    TOO_MANY_FIELDS = "too_many_fields", _("more fields than number;registered_on;categories")
    DUPLICATE = "duplicate", _("the number is repeated from an earlier line")
    REGISTERED = "registered", _("the number is already in the register")


_PROBLEM_REASONS = {
    Problem.INVALID: SkipReason.INVALID,
    Problem.FOREIGN: SkipReason.FOREIGN,
    Problem.SERVICE: SkipReason.SERVICE,
}
# A skip reason in the arrays: its position here.
_REASONS = list(SkipReason)
_REASON_CODES = {reason: code for code, reason in enumerate(_REASONS)}
_REGISTERED = _REASON_CODES[SkipReason.REGISTERED]
_DUPLICATE = _REASON_CODES[SkipReason.DUPLICATE]


@dataclass(frozen=True, slots=True)
class SkippedLine:
    line: int
    reason: SkipReason
    text: str


@dataclass
class ImportReport:
    loaded: int = 0
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    first_skipped: list[SkippedLine] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class ImportFileError(DomainError):
    code = "import_file"
    message = _("The file cannot be imported.")


class _Lines:
    """Reads the lines that are not in canonical shape, one by one."""

    def __init__(self, register: Register, today: date):
        self.register = register
        self.today = today
        self.normaliser = Normaliser(register.country)

    def date(self, text: str) -> date | None:
        """The registration date a (stripped) date field gives, None if it is refused."""
        if not text:
            return self.today
        try:
            value = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d\d-\d\d", text) else None
        except ValueError:
            return None
        return value if value is not None and value <= self.today else None

    def mask(self, text: str) -> int | None:
        """The category mask a (stripped) categories field gives, None if it names an unknown."""
        codes = {code.strip() for code in text.split(",")} - {""}
        try:
            return self.register.category_mask(codes) if codes else ALL_CATEGORIES
        except ValueError:
            return None

    def rows(
        self, lines: list[str], line_numbers: Iterable[int], skipped: list[SkippedLine]
    ) -> tuple[list[int], list[int], list[int], list[int]]:
        """The line numbers, numbers, registration days (from 2000-01-01) and category masks of
        the good ones of `lines` (numbered by `line_numbers`); the lines refused go to
        `skipped`."""
        numbers: list[int] = []
        good: list[int] = []
        days: list[int] = []
        masks: list[int] = []
        normaliser = self.normaliser
        for line_number, line in zip(line_numbers, lines, strict=True):
            fields = line.split(";")
            number_text = fields[0].strip()
            reason = None
            if len(fields) > 3:
                reason = SkipReason.TOO_MANY_FIELDS
            elif number_text or len(fields) > 1:
                number, problem = normaliser(number_text)
                day = self.date(fields[1].strip() if len(fields) > 1 else "")
                mask = self.mask(fields[2].strip() if len(fields) > 2 else "")
                if problem is not None:
                    reason = _PROBLEM_REASONS[problem]
                elif day is None:
                    reason = SkipReason.BAD_DATE
                elif mask is None:
                    reason = SkipReason.UNKNOWN_CATEGORY
                else:
                    good.append(line_number)
                    numbers.append(number)
                    days.append((day - _EPOCH).days)
                    masks.append(mask)
                    continue
            if reason is not None:
                skipped.append(SkippedLine(line_number, reason, line))
        return good, numbers, days, masks


def _category_lists(register: Register) -> tuple[list[str], list[int]]:
    """The categories fields of canonical lines and their masks (all of them: ALL_CATEGORIES)."""
    masks = range(1, 1 << len(register.categories))
    lists = [",".join(register.category_codes(mask)) for mask in masks]
    return lists, [register.category_mask(codes.split(",")) for codes in lists]


def _blocks(source: BinaryIO | TextIO) -> Iterator[tuple[bytes, int]]:
    """The source in blocks of whole lines, each ending in a newline, with the file offset each
    starts at; a UTF-8 byte order mark is left out."""
    carry = b""
    offset = 0
    first = True
    while True:
        data = source.read(BLOCK_BYTES)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if first:
            first = False
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
                offset = len(_BOM)
        if not data:
            break
        data = carry + data
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            yield data[:cut], offset
            offset += cut
    if carry:
        yield carry + b"\n", offset


def _decode(data: bytes, offset: int) -> str:
    try:
        return data.decode("utf-8").replace("\r", "")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _("The file is not UTF-8 text (byte %(position)d cannot be read).")
            % {"position": offset + error.start}
        ) from error


@contextmanager
def _phase(name: str) -> Iterator[None]:
    """Logs how long a phase of the import took (the benchmark prints these)."""
    started = time.perf_counter()
    yield
    logger.debug("%s: %.1f s", name, time.perf_counter() - started)


def _category_keys(
    register: Register,
) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """How to tell the categories fields of canonical lines apart, cheaply: by their length and
    the bytes at a few offsets (none when the lengths already differ, as in the Dutch
    register). Returns the offsets, the fields' keys in ascending order, their masks and their
    bytes, padded with zeros, as words (a row per eight bytes, a column per field), by which
    a field with a known key is checked."""
    lists, masks = _category_lists(register)
    fields = [b"", *(codes.encode() for codes in lists)]
    masks = [ALL_CATEGORIES, *masks]
    offsets: list[int] = []

    def key(text: bytes, more: list[int]) -> int:
        value = len(text)
        for offset in more:
            value = value * 256 + (text[offset] if offset < len(text) else 0)
        return value

    while len({key(text, offsets) for text in fields}) < len(fields):
        longest = max(map(len, fields))
        offsets.append(
            max(range(longest), key=lambda o: len({key(t, [*offsets, o]) for t in fields}))
        )
    keys = np.array([key(text, offsets) for text in fields], dtype=np.int64)
    order = np.argsort(keys)
    texts = np.zeros((len(fields), 8 * max(1, -(-max(map(len, fields)) // 8))), dtype=np.uint8)
    for row, text in enumerate(fields):
        texts[row, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    words = np.ascontiguousarray(texts.view("<u8")[order].T)
    return offsets, keys[order], np.array(masks, dtype=np.int16)[order], words


# Eight bytes at a time, as little-endian uint64 words (SWAR): a byte's high bit in each lane.
_HIGH = np.uint64(0x8080808080808080)
_ZEROS = np.uint64(0x3030303030303030)
_PAIRS = np.uint64(0x00FF00FF00FF00FF)


def _words(data: np.ndarray) -> np.ndarray:
    """The words starting at each byte of `data`: gathered at any positions, unaligned, twice
    as fast as rows of bytes."""
    return np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))


def _all_digits(words: np.ndarray) -> np.ndarray:
    """Whether all eight bytes of each word are ASCII digits: a byte's low seven bits plus 0x50
    reach the high bit from "0" on, plus 0x46 from past "9" on, neither carrying out of it."""
    low = words & np.uint64(0x7F7F7F7F7F7F7F7F)
    above = (low + np.uint64(0x5050505050505050)) & ~(low + np.uint64(0x4646464646464646))
    return (above & ~words & _HIGH) == _HIGH


def _digit_pairs(words: np.ndarray) -> np.ndarray:
    """Words of eight digits (the first in the lowest byte) as four two-digit numbers, one in
    the low byte of each 16-bit lane."""
    words = words - _ZEROS
    return (words * np.uint64(10) + (words >> np.uint64(8))) & _PAIRS


def _eight_digits(words: np.ndarray) -> np.ndarray:
    """The numbers words of eight digits write: the lanes joined pairwise, 2, 4, 8 digits."""
    words = _digit_pairs(words)
    words = (words * np.uint64(100) + (words >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    words = (words * np.uint64(10_000) + (words >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return words.astype(np.int64)


def _lane_masks(widths: int, count: int, *, at_end: bool) -> np.ndarray:
    """Per word of `count` (a row each), per width 0 to `widths`: the mask of the bytes of the
    words that a field of that width covers, at their end or at their start."""
    masks = np.zeros((widths + 1, count * 8), dtype=np.uint8)
    for width in range(widths + 1):
        if at_end:
            masks[width, count * 8 - width :] = 0xFF
        else:
            masks[width, :width] = 0xFF
    return np.ascontiguousarray(masks.view("<u8").T)


# Per year (0001 to 9999 are dates): its first day, from 2000-01-01, and whether it is a leap
# year; per month (1 to 12) of a year that is not: its days, and the days before it.
_YEARS = np.arange(10_000)
_YEAR_DAYS = (_YEARS - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
_YEAR_DAYS -= _EPOCH_DAYS
_LEAP = (_YEARS % 4 == 0) & ((_YEARS % 100 != 0) | (_YEARS % 400 == 0))
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0])
_MONTH_STARTS = np.append(0, np.cumsum(_MONTH_DAYS)[:-1])


def _days(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of the dates are YYYY-MM-DD dates that exist (year 0001 on), and their days from
    2000-01-01; `first` holds the words of their first eight bytes, `last` of their last."""
    shaped = (first >> np.uint64(32)) & np.uint64(0xFF) == ord("-")
    shaped &= first >> np.uint64(56) == ord("-")
    # YYYYMMDD in one word.
    digits = (
        (first & np.uint64(0xFFFFFFFF))
        | ((first >> np.uint64(40)) & np.uint64(0xFFFF)) << np.uint64(32)
        | (last >> np.uint64(48)) << np.uint64(48)
    )
    shaped &= _all_digits(digits)
    pairs = _digit_pairs(digits).view(np.uint16).reshape(-1, 4).astype(np.intp)
    year = pairs[:, 0] * 100 + pairs[:, 1]
    month = np.minimum(pairs[:, 2], 13)
    day = pairs[:, 3]
    leap = _LEAP[year]
    exists = shaped & (year >= 1) & (day >= 1) & (day <= _MONTH_DAYS[month] + (leap & (month == 2)))
    return exists, _YEAR_DAYS[year] + _MONTH_STARTS[month] + (leap & (month > 2)) + day - 1


class _Rows:
    """The file's lines read into arrays, block by block, in the file's order.

    Good lines: their line number, number, registration day (days from 2000-01-01) and category
    mask. Canonical lines whose number's range refuses it, or the normaliser where the range
    calls for one: line number, the number as the file has it and the reason's code. Other
    refused lines are written to the spool at once. (Shaping blocks in two threads, numpy
    letting go of the GIL, gained nothing on two cores shared with PostgreSQL and others.)
    """

    def __init__(self, register: Register, today: date, spool: TextIO):
        self.lines = _Lines(register, today)
        self.spool = spool
        self.ranges = e164_ranges(register.country)
        if self.ranges is not None:
            starts, verdicts = self.ranges
            self.starts = np.array(starts, dtype=np.int64)
            # Per range: -1 good, -2 for the normaliser, else the skip reason's code.
            self.verdicts = np.array(
                [
                    -1
                    if verdict == CONSUMER
                    else -2
                    if verdict == PER_NUMBER
                    else _REASON_CODES[_PROBLEM_REASONS[Problem(verdict)]]
                    for verdict in verdicts
                ],
                dtype=np.int8,
            )
            self.offsets, self.keys, self.masks, self.words = _category_keys(register)
            self.category_masks = _lane_masks(8 * len(self.words), len(self.words), at_end=False)
            # Per width: the bytes of a number's two words it leaves out, and the least and
            # one past the greatest number of that width in the country code.
            self.number_masks = ~_lane_masks(16, 2, at_end=True)
            code = register.calling_code
            self.lowest = np.ones(17, dtype=np.int64)
            self.highest = np.zeros(17, dtype=np.int64)
            for width in range(len(str(code)) + 1, 16):
                self.lowest[width] = (code * 10 + 1) * 10 ** (width - len(str(code)) - 1)
                self.highest[width] = (code + 1) * 10 ** (width - len(str(code)))
        self.today = (today - _EPOCH).days
        self.count = 0
        self.good: tuple[list[np.ndarray], ...] = ([], [], [], [])
        self.refused: tuple[list[np.ndarray], ...] = ([], [], [])

    def block(self, data: bytes, offset: int) -> None:
        """The lines of a block: those in canonical shape parsed vectorised and judged by
        range, the others read one by one."""
        first = self.count + 1
        if self.ranges is None:
            lines = _decode(data, offset).split("\n")[:-1]
            self.count += len(lines)
            self.parse(lines, range(first, first + len(lines)))
            return
        bytes_ = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(bytes_ == ord("\n"))
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        self.count += len(ends)
        canonical, numbers, days, masks = self.canonical(bytes_, starts, ends)
        added = len(self.good[0])
        self.judge(np.flatnonzero(canonical) + first, numbers, days, masks, canonical)
        if canonical.all():
            return
        # The other lines, all of the block's in one go (canonical lines are ASCII: where a
        # block is not UTF-8 is in one of the others).
        others = np.flatnonzero(~canonical)
        lines = _decode(data, offset).split("\n")
        self.parse([lines[other] for other in others.tolist()], (others + first).tolist())
        # The block's good rows in line order again: a number's first line must come first.
        parts = [column[added:] for column in self.good]
        for column in self.good:
            del column[added:]
        joined = [np.concatenate(part) for part in parts]
        order = np.argsort(joined[0], kind="stable")
        self.add(self.good, *(array[order] for array in joined))

    def canonical(
        self, data: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Which lines are in the register's canonical shape, and their numbers, days and masks.

        `number[;date[;categories]]` (with `\\n` or `\\r\\n`): the number in E.164 digits of the
        register's country (at most 15); the date empty or one that exists and is not after
        today; the categories empty or the register's codes in its order, as the export writes
        them. Such lines hold nothing to refuse but their number, which is judged by its range.
        Every byte of such a line is checked here, a field at a time for all lines at once,
        eight bytes at a time.
        """
        count = len(ends)
        # The usual block: every line's number as long as the first line's, then a semicolon,
        # ten characters of a date and another. No need to look for the semicolons: the
        # fields between are checked byte by byte below, with no room for another.
        width = data[: ends[0]].tobytes().find(b";")
        number_ends = starts + width
        date_ends = number_ends + 11
        if (
            width > 0
            and (date_ends < ends).all()
            and (data[number_ends] == ord(";")).all()
            and (data[date_ends] == ord(";")).all()
        ):
            fields = 2
        elif (
            len(semicolons := np.flatnonzero(data == ord(";"))) == 2 * count
            and (semicolons[0::2] > starts).all()
            and (semicolons[1::2] < ends).all()
        ):
            # Every line has its three fields.
            fields = np.full(count, 2)
            number_ends, date_ends = semicolons[0::2], semicolons[1::2]
        else:
            fields = np.bincount(np.searchsorted(ends, semicolons), minlength=count)
            first = np.cumsum(fields) - fields
            semicolons = np.append(semicolons, [len(data), len(data)])
            number_ends = np.where(fields >= 1, semicolons[first], ends)
            date_ends = np.where(fields >= 2, semicolons[first + 1], ends)
        # The line ends without a carriage return before the newline.
        tails = ends - (data[ends - 1] == ord("\r"))
        number_ends = np.minimum(number_ends, tails)
        date_ends = np.minimum(date_ends, tails)
        date_widths = np.where(fields >= 1, date_ends - number_ends - 1, 0)
        category_widths = np.where(fields == 2, tails - date_ends - 1, 0)

        # 16 bytes before the data, for the words that end a number; behind it, enough for the
        # words of the date and categories that a line's newline ends.
        padded = np.zeros(16 + len(data) + 8 * (len(self.words) + 2), dtype=np.uint8)
        padded[16 : 16 + len(data)] = data
        words = _words(padded)
        # The number's 16 bytes up to its end, the bytes before it written as zeros.
        widths = number_ends - starts
        canonical = (fields <= 2) & (widths <= 15)
        widths = np.clip(widths, 0, 16)
        # The usual block: all numbers as long, all lines dated; their masks and bounds one.
        if widths.min() == widths.max():
            widths = widths[:1]
        high, low = words[number_ends], words[number_ends + 8]
        outside = self.number_masks[0][widths]
        high = (high & ~outside) | (_ZEROS & outside)
        outside = self.number_masks[1][widths]
        low = (low & ~outside) | (_ZEROS & outside)
        canonical &= _all_digits(high) & _all_digits(low)
        numbers = _eight_digits(high) * 100_000_000 + _eight_digits(low)
        # Digits of that width starting with the country code and then not a zero.
        canonical &= (self.lowest[widths] <= numbers) & (numbers < self.highest[widths])

        if (date_widths == 10).all():
            exists, read = _days(words[number_ends + 17], words[number_ends + 19])
            canonical &= exists & (read <= self.today)
            days = read.astype(np.int32)
        else:
            days = np.full(count, self.today, dtype=np.int32)
            dated = np.flatnonzero(date_widths == 10)
            exists, read = _days(words[number_ends[dated] + 17], words[number_ends[dated] + 19])
            canonical &= (date_widths == 0) | (date_widths == 10)
            canonical[dated] &= exists & (read <= self.today)
            days[dated] = read

        longest = self.category_masks.shape[1] - 1
        canonical &= category_widths <= longest
        category_widths = np.clip(category_widths, 0, longest)
        written = [
            words[date_ends + 17 + 8 * index] & masks[category_widths]
            for index, masks in enumerate(self.category_masks)
        ]
        keys = category_widths.astype(np.int64)
        for offset in self.offsets:
            byte = written[offset // 8] >> np.uint64(8 * (offset % 8)) & np.uint64(0xFF)
            keys = keys * 256 + byte.astype(np.int64)
        found = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        canonical &= self.keys[found] == keys
        for word, fields_words in zip(written, self.words, strict=True):
            canonical &= word == fields_words[found]
        return canonical, numbers, days, self.masks[found]

    def judge(
        self,
        line_numbers: np.ndarray,
        numbers: np.ndarray,
        days: np.ndarray,
        masks: np.ndarray,
        canonical: np.ndarray,
    ) -> None:
        """The `canonical` ones of the lines, judged by their number's range."""
        numbers, days, masks = numbers[canonical], days[canonical], masks[canonical]
        verdicts = self.verdicts[np.searchsorted(self.starts, numbers, side="right") - 1]
        if (verdicts != -1).any():
            for row in np.flatnonzero(verdicts == -2):
                number, problem = self.lines.normaliser(str(numbers[row]))
                if problem is None:
                    numbers[row] = number
                    verdicts[row] = -1
                else:
                    verdicts[row] = _REASON_CODES[_PROBLEM_REASONS[problem]]
            refused = verdicts != -1
            self.add(self.refused, line_numbers[refused], numbers[refused], verdicts[refused])
            good = ~refused
            line_numbers, numbers, days, masks = (
                line_numbers[good],
                numbers[good],
                days[good],
                masks[good],
            )
        self.add(self.good, line_numbers, numbers, days, masks)

    def parse(self, lines: list[str], line_numbers: Iterable[int]) -> None:
        """Lines not in canonical shape, numbered by `line_numbers`, read one by one."""
        skipped: list[SkippedLine] = []
        line_numbers, numbers, days, masks = self.lines.rows(lines, line_numbers, skipped)
        self.add(
            self.good,
            np.array(line_numbers, dtype=np.int64),
            np.array(numbers, dtype=np.int64),
            np.array(days, dtype=np.int32),
            np.array(masks, dtype=np.int16),
        )
        for line in skipped:
            self.spool.write(f"{line.line};{line.reason};{line.text}\n")

    def lines_at(self, positions: np.ndarray) -> np.ndarray:
        """The line numbers of the good rows at `positions`. Where they are few, as in most
        files, looked up in their blocks: no joined copy of the whole column."""
        blocks = self.good[0]
        bounds = np.cumsum([0, *map(len, blocks)])
        if len(positions) * 8 > bounds[-1]:
            return np.concatenate(blocks)[positions]
        order = np.argsort(positions)
        ordered = positions[order]
        lines = np.empty(len(positions), dtype=np.int64)
        # Each block's share of the positions, in order: a slice of them.
        cuts = np.searchsorted(ordered, bounds).tolist()
        for block, (start, stop) in enumerate(itertools.pairwise(cuts)):
            if start < stop:
                lines[order[start:stop]] = blocks[block][ordered[start:stop] - bounds[block]]
        return lines

    @staticmethod
    def add(columns: tuple[list[np.ndarray], ...], *arrays: np.ndarray) -> None:
        for column, array in zip(columns, arrays, strict=True):
            column.append(array)

    @staticmethod
    def join(columns: tuple[list[np.ndarray], ...], dtypes: tuple) -> list[np.ndarray]:
        """The blocks' arrays joined, a column at a time, each column's blocks let go once
        joined (memory: the columns and one of them twice)."""
        joined = []
        for column, dtype in zip(columns, dtypes, strict=True):
            joined.append(np.concatenate(column) if column else np.empty(0, dtype))
            column.clear()
        return joined


@dataclass(frozen=True)
class _Ordered:
    """Numbers in ascending order with where each came from, equal ones in their order: as
    `packed` keys (the number less `low`, shifted left by `bits`, or'ed with its position),
    or, where `positions` are given, the numbers themselves."""

    packed: np.ndarray
    low: int = 0
    bits: int = 0
    positions: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.packed)

    def part(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The numbers from `start` to `stop` and their positions."""
        packed = self.packed[start:stop]
        if self.positions is not None:
            return packed, self.positions[start:stop]
        return (packed >> self.bits) + self.low, packed & ((1 << self.bits) - 1)


def _number_order(blocks: list[np.ndarray]) -> _Ordered:
    """The numbers of `blocks` (joined) in ascending order and where each came from.

    A number's digits and its position packed in one int64 where they fit (always, for a
    register's numbers up to hundreds of millions of lines): numpy sorts integers ten times
    as fast as it orders their positions. Packed a block at a time, in the processor's
    cache, and unpacked only a part at a time, as the load writes it.
    """
    count = sum(map(len, blocks))
    blocks = [block for block in blocks if len(block)]
    if not count:
        return _Ordered(np.zeros(0, dtype=np.int64))
    low = min(int(block.min()) for block in blocks)
    high = max(int(block.max()) for block in blocks)
    bits = max(count - 1, 1).bit_length()
    if (high - low) >> (63 - bits):
        numbers = np.concatenate(blocks)
        order = np.argsort(numbers, kind="stable")
        return _Ordered(numbers[order], positions=order)
    packed = np.empty(count, dtype=np.int64)
    start = 0
    for block in blocks:
        part = packed[start : start + len(block)]
        np.subtract(block, low, out=part)
        part <<= bits
        part |= np.arange(start, start + len(block), dtype=np.int64)
        start += len(block)
    packed.sort()
    return _Ordered(packed, low, bits)


def _registered(ordered: _Ordered) -> np.ndarray:
    """The registered numbers between the first and the last of `ordered`, ascending, sent by
    the primary key in binary."""
    if not len(ordered):
        return np.zeros(0, dtype=np.int64)
    sink = io.BytesIO()
    copy_out(
        "COPY (SELECT number FROM register_blockednumber"
        " WHERE number BETWEEN %(first)s AND %(last)s ORDER BY number) TO STDOUT (FORMAT binary)",
        {
            "first": int(ordered.part(0, 1)[0][0]),
            "last": int(ordered.part(len(ordered) - 1, len(ordered))[0][0]),
        },
        sink.write,
        block_bytes=BLOCK_BYTES,
    )
    # Header 19 bytes, trailer 2; a row: field count, length, the bigint.
    rows = np.frombuffer(
        sink.getbuffer(),
        dtype=np.dtype([("fields", ">i2"), ("length", ">i4"), ("number", ">i8")]),
        offset=19,
        count=(len(sink.getbuffer()) - 21) // 14,
    )
    return rows["number"].astype(np.int64)


def _load(
    cursor,
    *,
    ordered: _Ordered,
    registered: np.ndarray,
    days: np.ndarray,
    masks: np.ndarray,
    register: Register,
    record: RegisterImport,
) -> tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Copy the numbers of `ordered` into the register, each from its first row (of `days`
    and `masks`), leaving out those `registered` (ascending), in one binary COPY, by number:
    the primary key is then filled from the left. The COPY's messages are sent by a thread
    of their own while this one writes the next ones, so what the client does here takes no
    time of its own. Returns how many were loaded, and the positions, numbers and reason
    codes of the rows left out."""
    channel = Channel.IMPORT.value.encode()
    layout = np.dtype(
        [
            ("fields", ">i2"),
            ("number_length", ">i4"),
            ("number", ">i8"),
            ("register_length", ">i4"),
            ("register", ">i8"),
            ("categories_length", ">i4"),
            ("categories", ">i2"),
            ("day_length", ">i4"),
            ("day", ">i4"),
            ("channel_length", ">i4"),
            ("channel", f"S{len(channel)}"),
            ("import_length", ">i4"),
            ("import", ">i8"),
        ]
    )
    out = np.empty(LOAD_ROWS, dtype=layout)
    for name, value in [
        ("fields", 6),
        ("number_length", 8),
        ("register_length", 8),
        ("register", register.pk),
        ("categories_length", 2),
        ("day_length", 4),
        ("channel_length", len(channel)),
        ("channel", channel),
        ("import_length", 8),
        ("import", record.pk),
    ]:
        out[name] = value
    # email and updated_at are left to their database defaults.
    columns = "number, register_id, categories, registered_on, channel, imported_in_id"
    with cursor.copy(
        f"COPY register_blockednumber ({columns}) FROM STDIN (FORMAT binary)",
        writer=QueuedLibpqWriter(cursor),
    ) as copy:
        # The signature, no flags, no header extension.
        copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))
        loaded = 0
        previous = None
        skipped: tuple[list[np.ndarray], ...] = ([], [], [])
        for start in range(0, len(ordered), LOAD_ROWS):
            numbers, positions = ordered.part(start, start + LOAD_ROWS)
            # Of a number's rows, its first (its first line) is loaded, the others repeat it.
            first = np.empty(len(numbers), dtype=bool)
            first[0] = previous is None or numbers[0] != previous
            first[1:] = numbers[1:] != numbers[:-1]
            previous = numbers[-1]
            if len(registered):
                found = np.minimum(np.searchsorted(registered, numbers), len(registered) - 1)
                known = registered[found] == numbers
            else:
                known = np.zeros(len(numbers), dtype=bool)
            chosen = first & ~known
            left_out = ~chosen
            skipped[0].append(positions[left_out])
            skipped[1].append(numbers[left_out])
            skipped[2].append(np.where(known[left_out], _REGISTERED, _DUPLICATE).astype(np.int8))
            chunk = positions[chosen]
            part = out[: len(chunk)]
            part["number"] = numbers[chosen]
            part["categories"] = masks[chunk]
            part["day"] = days[chunk]
            copy.write(part.tobytes())
            loaded += len(chunk)
        copy.write(b"\xff\xff")
    return loaded, tuple(
        np.concatenate(column) if column else np.zeros(0, dtype=dtype)
        for column, dtype in zip(skipped, (np.int64, np.int64, np.int8), strict=True)
    )


def register_import(
    *,
    register: Register,
    source: BinaryIO | TextIO,
    report: TextIO | None = None,
    today: date | None = None,
    shown: int = 20,
    imported_by: str = "",
    file_name: str = "",
) -> ImportReport:
    """Load `number[;registered_on[;categories]]` lines into the register, all or nothing.

    Every skipped line is counted by reason; the first `shown` are kept in the result and all
    of them, as `line;reason`, are written to `report` when given. The import is recorded as a
    RegisterImport, which holds the block event of every number it loaded.
    """
    if today is None:
        today = timezone.localtime(timezone.now(), ZoneInfo(register.time_zone)).date()
    result = ImportReport()
    digest = hashlib.sha256()
    # Lines refused while parsing, spooled so memory stays flat whatever the file holds.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        rows = _Rows(register, today, spool)
        with _phase("read"), ThreadPoolExecutor(max_workers=1) as hashing:
            # The digest in a thread of its own (hashlib lets go of the GIL), a block at a
            # time and in order, while this one reads the block.
            hashed = None
            for data, offset in _blocks(source):
                if hashed is not None:
                    hashed.result()
                elif offset:
                    # The first block starts after a byte order mark: the file has it.
                    digest.update(_BOM)
                hashed = hashing.submit(digest.update, data)
                rows.block(data, offset)
        with _phase("sort"):
            ordered = _number_order(rows.good[1])
            rows.good[1].clear()
            days, masks = rows.join(rows.good[2:], (np.int32, np.int16))
        with transaction.atomic():
            record = RegisterImport.objects.create(
                register=register, imported_by=imported_by, file_name=file_name
            )
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                with _phase("registered"):
                    # Every line of a number registered before is skipped as such. A number
                    # registered by someone else from here on makes the load fail on the primary
                    # key and the import roll back whole.
                    registered = _registered(ordered)
                with _phase("load"):
                    result.loaded, left_out = _load(
                        cursor,
                        ordered=ordered,
                        registered=registered,
                        days=days,
                        masks=masks,
                        register=register,
                        record=record,
                    )
            with _phase("report"):
                skipped = _skipped(rows, *left_out)
                spool.seek(0)
                for line in merge(_read_spool(spool), skipped, key=lambda skip: skip.line):
                    result.skipped[line.reason] += 1
                    if len(result.first_skipped) < shown:
                        result.first_skipped.append(line)
                    if report is not None:
                        report.write(f"{line.line};{line.reason}\n")
            record.sha256 = digest.hexdigest()
            record.loaded = result.loaded
            record.skipped = result.skipped_total
            record.save(update_fields=["sha256", "loaded", "skipped"])
    return result


def _skipped(
    rows: _Rows,
    positions: np.ndarray,
    numbers: np.ndarray,
    reasons: np.ndarray,
) -> Iterator[SkippedLine]:
    """The lines refused by their number's range or reading, and those of the rows at
    `positions` left out of the load (with their `numbers` and `reasons`), in line order;
    their text is the number."""
    refused_lines, refused_numbers, refused_reasons = rows.join(
        rows.refused, (np.int64, np.int64, np.int8)
    )
    skipped_lines = np.concatenate([refused_lines, rows.lines_at(positions)])
    skipped_numbers = np.concatenate([refused_numbers, numbers])
    reasons = np.concatenate([refused_reasons, reasons])
    by_line = np.argsort(skipped_lines, kind="stable")
    for line, number, reason in zip(
        skipped_lines[by_line].tolist(),
        skipped_numbers[by_line].tolist(),
        reasons[by_line].tolist(),
        strict=True,
    ):
        yield SkippedLine(line, _REASONS[reason], str(number))


def _read_spool(spool: TextIO) -> Iterator[SkippedLine]:
    for row in spool:
        line, reason, text = row.rstrip("\n").split(";", 2)
        yield SkippedLine(int(line), SkipReason(reason), text)


def register_export(*, register: Register, sink: BinaryIO) -> int:
    """Write the register as `number;registered_on;categories` lines in number order.

    Categories are written as codes even when a number blocks them all: a licensee reading the
    file should not have to know that an empty field means everything, and importing the full
    list of codes gives back the all-categories registration.
    """
    codes = register.categories
    # Every mask a registration can hold; registers have a handful of categories.
    masks = [ALL_CATEGORIES, *range(1, 1 << len(codes))]
    labels = [",".join(register.category_codes(mask)) for mask in masks]
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(
            """
            COPY (
                SELECT b.number, b.registered_on, NULLIF(m.codes, '')
                FROM register_blockednumber b
                LEFT JOIN unnest(%s::smallint[], %s::text[]) AS m(mask, codes)
                    ON m.mask = b.categories
                WHERE b.register_id = %s
                ORDER BY b.number
            ) TO STDOUT (FORMAT csv, DELIMITER ';')
            """,
            [masks, labels, register.pk],
        ) as copy:
            for data in copy:
                sink.write(data)
        return cursor.rowcount
