"""Reading a register file's lines (SPEC §5 admin import): canonical lines vectorised, the
others one by one, into arrays of line numbers, numbers, days and category masks."""

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, TextIO

import numpy as np
from django.db import models
from django.utils.translation import gettext_lazy as _

from register.errors import DomainError
from register.models import ALL_CATEGORIES, Register
from register.phone import CONSUMER, PER_NUMBER, Normaliser, Problem, e164_ranges
from register.words import (
    EPOCH,
    ZEROS,
    all_digits,
    eight_digits,
    iso_days,
    lane_masks,
    words_at,
)

# Half a megabyte: the arrays of a block's lines then stay in the processor's cache (parsing
# 10M lines 3.4 s in blocks of 8 MB, 2.1 s in these).
BLOCK_BYTES = 1 << 19
BOM = b"\xef\xbb\xbf"


class SkipReason(models.TextChoices):
    INVALID = "invalid", _("not a valid phone number")
    FOREIGN = "foreign", _("a number of another country")
    SERVICE = "service", _("a service number, not a consumer's")
    BAD_DATE = "bad_date", _("registration date not YYYY-MM-DD or in the future")
    UNKNOWN_CATEGORY = "unknown_category", _("unknown category")
    TOO_MANY_FIELDS = "too_many_fields", _("more fields than number;registered_on;categories")
    DUPLICATE = "duplicate", _("the number is repeated from an earlier line")
    REGISTERED = "registered", _("the number is already in the register")


PROBLEM_REASONS = {
    Problem.INVALID: SkipReason.INVALID,
    Problem.FOREIGN: SkipReason.FOREIGN,
    Problem.SERVICE: SkipReason.SERVICE,
}
# A skip reason in the arrays: its position here.
REASONS = list(SkipReason)
REASON_CODES = {reason: code for code, reason in enumerate(REASONS)}
REGISTERED_CODE = REASON_CODES[SkipReason.REGISTERED]
DUPLICATE_CODE = REASON_CODES[SkipReason.DUPLICATE]


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
                    reason = PROBLEM_REASONS[problem]
                elif day is None:
                    reason = SkipReason.BAD_DATE
                elif mask is None:
                    reason = SkipReason.UNKNOWN_CATEGORY
                else:
                    good.append(line_number)
                    numbers.append(number)
                    days.append((day - EPOCH).days)
                    masks.append(mask)
                    continue
            if reason is not None:
                skipped.append(SkippedLine(line_number, reason, line))
        return good, numbers, days, masks


def category_lists(register: Register) -> tuple[list[str], list[int]]:
    """The categories fields of canonical lines and their masks (all of them: ALL_CATEGORIES)."""
    masks = range(1, 1 << len(register.categories))
    lists = [",".join(register.category_codes(mask)) for mask in masks]
    return lists, [register.category_mask(codes.split(",")) for codes in lists]


def file_blocks(source: BinaryIO | TextIO) -> Iterator[tuple[bytes, int]]:
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
            if data.startswith(BOM):
                data = data[len(BOM) :]
                offset = len(BOM)
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


def _category_keys(
    register: Register,
) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """How to tell the categories fields of canonical lines apart, cheaply: by their length and
    the bytes at a few offsets (none when the lengths already differ, as in the Dutch
    register). Returns the offsets, the fields' keys in ascending order, their masks and their
    bytes, padded with zeros, as words (a row per eight bytes, a column per field), by which
    a field with a known key is checked."""
    lists, masks = category_lists(register)
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


class Rows:
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
                    else REASON_CODES[PROBLEM_REASONS[Problem(verdict)]]
                    for verdict in verdicts
                ],
                dtype=np.int8,
            )
            self.offsets, self.keys, self.masks, self.words = _category_keys(register)
            self.category_masks = lane_masks(8 * len(self.words), len(self.words), at_end=False)
            # Per width: the bytes of a number's two words it leaves out, and the least and
            # one past the greatest number of that width in the country code.
            self.number_masks = ~lane_masks(16, 2, at_end=True)
            code = register.calling_code
            self.lowest = np.ones(17, dtype=np.int64)
            self.highest = np.zeros(17, dtype=np.int64)
            for width in range(len(str(code)) + 1, 16):
                self.lowest[width] = (code * 10 + 1) * 10 ** (width - len(str(code)) - 1)
                self.highest[width] = (code + 1) * 10 ** (width - len(str(code)))
        self.today = (today - EPOCH).days
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

        Must equal the definition read line by line, and give the numbers, days and masks
        `_Lines.rows` reads from those lines: held to both, over 20,000 random lines and in
        blocks of each shape, by `test_the_canonical_shape_is_checked_for_every_byte_of_a_line`
        (tests/register/bulk/test_import.py).
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
        words = words_at(padded)
        # The number's 16 bytes up to its end, the bytes before it written as zeros.
        widths = number_ends - starts
        canonical = (fields <= 2) & (widths <= 15)
        widths = np.clip(widths, 0, 16)
        # The usual block: all numbers as long, all lines dated; their masks and bounds one.
        if widths.min() == widths.max():
            widths = widths[:1]
        high, low = words[number_ends], words[number_ends + 8]
        outside = self.number_masks[0][widths]
        high = (high & ~outside) | (ZEROS & outside)
        outside = self.number_masks[1][widths]
        low = (low & ~outside) | (ZEROS & outside)
        canonical &= all_digits(high) & all_digits(low)
        numbers = eight_digits(high) * 100_000_000 + eight_digits(low)
        # Digits of that width starting with the country code and then not a zero.
        canonical &= (self.lowest[widths] <= numbers) & (numbers < self.highest[widths])

        if (date_widths == 10).all():
            exists, read = iso_days(words[number_ends + 17], words[number_ends + 19])
            canonical &= exists & (read <= self.today)
            days = read.astype(np.int32)
        else:
            days = np.full(count, self.today, dtype=np.int32)
            dated = np.flatnonzero(date_widths == 10)
            exists, read = iso_days(words[number_ends[dated] + 17], words[number_ends[dated] + 19])
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
                    verdicts[row] = REASON_CODES[PROBLEM_REASONS[problem]]
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
        files, looked up in their blocks: no joined copy of the whole column.

        Must equal `np.concatenate(self.good[0])[positions]`: held to it by
        `test_lines_split_across_blocks_are_read_whole` (repeats of lines many blocks before),
        tests/register/bulk/test_import.py."""
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
