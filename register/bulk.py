"""Register import and export at COPY speed (SPEC §5 admin import, §16 commands).

The import reads the file once, in blocks, into numpy arrays: one row for each line that carries
a number, with its line number. Lines already in the register's own shape (the country's E.164
digits, a date that exists and is not in the future, the register's category codes in its
order) are parsed vectorised, whole runs at a time, and their numbers judged by the ranges of
the number plan they fall in (`register.phone.e164_ranges`); only other lines, and numbers whose
range calls for it, are read one by one by the normaliser and Python's date and category rules.
Then, in the client, each number keeps its first line, numbers already registered are left out,
and the rows go sorted by number through one binary COPY into the register, written straight
from a numpy array in PostgreSQL's binary row layout. The history gets one row, the
RegisterImport, which the loaded numbers point to. All of it is one transaction.
"""

import calendar
import hashlib
import io
import logging
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from heapq import merge
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from numpy.lib.stride_tricks import sliding_window_view
from psycopg import pq
from psycopg.copy import QueuedLibpqWriter

from register.errors import DomainError
from register.models import ALL_CATEGORIES, Channel, Register, RegisterImport
from register.phone import CONSUMER, PER_NUMBER, Normaliser, Problem, e164_ranges

logger = logging.getLogger(__name__)

BLOCK_BYTES = 8 << 20
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
        self, lines: list[str], first: int, skipped: list[SkippedLine]
    ) -> tuple[list[int], list[int], list[int], list[int]]:
        """The line numbers, numbers, registration days (from 2000-01-01) and category masks of
        the good ones of `lines` (numbered from `first`); the lines refused go to `skipped`."""
        numbers: list[int] = []
        line_numbers: list[int] = []
        days: list[int] = []
        masks: list[int] = []
        normaliser = self.normaliser
        for offset, line in enumerate(lines):
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
                    line_numbers.append(first + offset)
                    numbers.append(number)
                    days.append((day - _EPOCH).days)
                    masks.append(mask)
                    continue
            if reason is not None:
                skipped.append(SkippedLine(first + offset, reason, line))
        return line_numbers, numbers, days, masks


# Month and day of a date that exists in every year; 29 February and the leap years.
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_DAY = "02-29"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"


def _below(digits: str) -> str:
    """A regular expression for the digit strings of the same length less than `digits`."""
    if not digits:
        return "(?!)"
    head, rest = int(digits[0]), digits[1:]
    smaller = f"[0-{head - 1}][0-9]{{{len(rest)}}}" if head else "(?!)"
    return f"(?:{smaller}|{head}{_below(rest)})" if rest else smaller


def _dates_until(today: date) -> str:
    """A regular expression for the YYYY-MM-DD dates from 0001-01-01 to `today`."""
    year, month, day = today.isoformat().split("-")
    tomorrow = f"{int(day) + 1:02d}"
    this_year = f"(?:{_MONTH_DAY}|{_LEAP_DAY})" if calendar.isleap(today.year) else _MONTH_DAY
    # Earlier years first, the file's usual case; this year's dates checked twice over.
    return (
        f"(?:(?!0000){_below(year)}-{_MONTH_DAY}"
        f"|(?!0000)(?={_below(year)}-){_LEAP_YEAR}-{_LEAP_DAY}"
        f"|{year}-(?={this_year}(?![0-9]))"
        f"(?:{_below(month)}-[0-9]{{2}}|{month}-{_below(tomorrow)}))"
    )


def _canonical_lines(
    register: Register, ranges: tuple[tuple[int, ...], tuple[str, ...]] | None, today: date
) -> re.Pattern[bytes] | None:
    """A run of lines in the register's canonical shape, which numpy can parse as they are.

    `number[;date[;categories]]`: the number in E.164 digits of the register's country (at most
    15); the date empty or one that exists and is not after `today`; the categories empty or the
    register's codes in its order, as the export writes them. Such lines hold nothing to refuse
    but their number, which is judged by its range; None when numbers cannot be judged by their
    range.
    """
    if ranges is None:
        return None
    code = str(register.calling_code)
    categories = _subsets(register.categories) or ""
    # Possessive everywhere: a line either matches or stops the run, nothing to backtrack into.
    return re.compile(
        (
            rf"(?:{code}[1-9][0-9]{{0,{14 - len(code)}}}+"
            rf"(?:;(?:{_dates_until(today)})?+(?:;(?:{categories})?+)?+)?+\r?+\n)*+"
        ).encode()
    )


def _subsets(codes: list[str]) -> str | None:
    """A regular expression for the codes of a non-empty subset of `codes`, comma-separated in
    their order; a tree on the first code, so that the next character always says the way."""
    if not codes:
        return None
    rest = _subsets(codes[1:])
    first = re.escape(codes[0])
    if rest is None:
        return first
    return f"(?:{first}(?:,{rest})?+|{rest})"


def _category_lists(register: Register) -> tuple[list[str], list[int]]:
    """The categories fields of canonical lines and their masks (all of them: ALL_CATEGORIES)."""
    masks = range(1, 1 << len(register.categories))
    lists = [",".join(register.category_codes(mask)) for mask in masks]
    return lists, [register.category_mask(codes.split(",")) for codes in lists]


_TWO_FIELDS = re.compile(rb"^([0-9]++;[^;\n]*+)$", re.MULTILINE)
_ONE_FIELD = re.compile(rb"^([0-9]++)$", re.MULTILINE)


def _three_fields(run: bytes, lines: int) -> bytes:
    """A run of `lines` canonical lines with the fields left out written empty, as the parser
    needs them."""
    if b"\r" in run:
        run = run.replace(b"\r", b"")
    if run.count(b";") != 2 * lines:
        run = _ONE_FIELD.sub(rb"\1;;", _TWO_FIELDS.sub(rb"\1;", run))
    return run


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


def _category_keys(register: Register) -> tuple[list[int], np.ndarray, np.ndarray]:
    """How to tell the categories fields of canonical lines apart, cheaply: by their length and
    the bytes at a few offsets (none when the lengths already differ, as in the Dutch
    register). Returns the offsets, the fields' keys in ascending order and their masks; the
    canonical shape allows no other fields, so the key of one always finds its own."""
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
    return offsets, keys[order], np.array(masks, dtype=np.int16)[order]


def _integers(data: np.ndarray, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The decimal digits at `starts` (`widths` of them) of `data` as int64."""
    numbers = np.zeros(len(starts), dtype=np.int64)
    if not len(starts):
        return numbers
    widest = int(widths.max())
    if widest == int(widths.min()):
        # The usual case: all numbers as long, no masking; their digits gathered a row each.
        digits = sliding_window_view(data, widest)[starts]
        for column in range(widest):
            numbers *= 10
            numbers += digits[:, column]
        return numbers - sum(48 * 10**column for column in range(widest))
    last = len(data) - 1
    for column in range(widest):
        digits = data[np.minimum(starts + column, last)].astype(np.int64) - 48
        numbers = np.where(column < widths, numbers * 10 + digits, numbers)
    return numbers


class _Rows:
    """The file's lines read into arrays, block by block, in the file's order.

    Good lines: their line number, number, registration day (days from 2000-01-01) and category
    mask. Canonical lines whose number's range refuses it, or the normaliser where the range
    calls for one: line number, the number as the file has it and the reason's code. Other
    refused lines are written to the spool at once. (Parsing the runs in a thread of their own
    while this one matches the next block gained nothing: the regular expression holds the GIL
    for a whole block.)
    """

    def __init__(self, register: Register, today: date, spool: TextIO):
        self.lines = _Lines(register, today)
        self.spool = spool
        self.ranges = e164_ranges(register.country)
        self.canonical = _canonical_lines(register, self.ranges, today)
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
            self.offsets, self.keys, self.masks = _category_keys(register)
        self.today = (today - _EPOCH).days
        self.count = 0
        self.good: tuple[list[np.ndarray], ...] = ([], [], [], [])
        self.refused: tuple[list[np.ndarray], ...] = ([], [], [])

    def block(self, data: bytes, offset: int) -> None:
        position = 0
        size = len(data)
        match = self.canonical.match if self.canonical is not None else None
        # Where the canonical run starting at `position` ends: each run is matched once.
        run_end = match(data, 0).end() if match is not None else 0
        while position < size:
            if run_end > position:
                self.run(data[position:run_end])
                position = run_end
                if position == size:
                    break
            # The line here is not canonical: it and those after it up to the next canonical
            # one, parsed in one go.
            end = position
            while end < size:
                end = data.index(b"\n", end) + 1
                run_end = match(data, end).end() if match is not None else end
                if run_end > end:
                    break
            self.parse(data[position:end], offset + position)
            position = end

    def run(self, run: bytes) -> None:
        """A run of canonical lines: every one of them a row, parsed vectorised."""
        count = run.count(b"\n")
        data = np.frombuffer(_three_fields(run, count), dtype=np.uint8)
        ends = np.flatnonzero(data == ord("\n"))
        semicolons = np.flatnonzero(data == ord(";")).reshape(-1, 2)
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        line_numbers = np.arange(self.count + 1, self.count + 1 + count, dtype=np.int64)
        self.count += count
        numbers = _integers(data, starts, semicolons[:, 0] - starts)
        days = np.full(count, self.today, dtype=np.int32)
        dated = np.flatnonzero(semicolons[:, 1] - semicolons[:, 0] == 11)
        if len(dated):
            texts = sliding_window_view(data, 10)[semicolons[dated, 0] + 1]
            # Dates that exist by the canonical shape: numpy reads them as they are.
            read = texts.view("S10").ravel().astype("datetime64[D]").astype(np.int64)
            days[dated] = read - _EPOCH_DAYS

        categories = semicolons[:, 1] + 1
        widths = ends - categories
        keys = widths.astype(np.int64)
        last = len(data) - 1
        for offset in self.offsets:
            byte = data[np.minimum(categories + offset, last)]
            keys = keys * 256 + np.where(offset < widths, byte, 0)
        masks = self.masks[np.searchsorted(self.keys, keys)]

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

    def parse(self, data: bytes, offset: int) -> None:
        """Lines not in canonical shape, read one by one."""
        lines = _decode(data, offset).split("\n")[:-1]
        skipped: list[SkippedLine] = []
        line_numbers, numbers, days, masks = self.lines.rows(lines, self.count + 1, skipped)
        self.count += len(lines)
        self.add(
            self.good,
            np.array(line_numbers, dtype=np.int64),
            np.array(numbers, dtype=np.int64),
            np.array(days, dtype=np.int32),
            np.array(masks, dtype=np.int16),
        )
        for line in skipped:
            self.spool.write(f"{line.line};{line.reason};{line.text}\n")

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


def _number_order(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`numbers` in ascending order and where each came from, equal ones in their order.

    A number's digits and its position packed in one int64 where they fit (always, for a
    register's numbers up to hundreds of millions of lines): numpy sorts integers ten times
    as fast as it orders their positions.
    """
    if not len(numbers):
        return numbers, np.zeros(0, dtype=np.int64)
    low = int(numbers.min())
    bits = max(len(numbers) - 1, 1).bit_length()
    if (int(numbers.max()) - low) >> (63 - bits):
        order = np.argsort(numbers, kind="stable")
        return numbers[order], order
    packed = numbers - low
    packed <<= bits
    packed |= np.arange(len(numbers), dtype=np.int64)
    packed.sort()
    order = packed & ((1 << bits) - 1)
    packed >>= bits
    packed += low
    return packed, order


def _registered(numbers: np.ndarray) -> np.ndarray:
    """Which of `numbers` (ascending) are in the register already: the registered numbers
    between the first and the last, sent by the primary key in binary, looked up by a
    binary search."""
    if not len(numbers):
        return np.zeros(0, dtype=bool)
    sink = io.BytesIO()
    _copy_out(
        "COPY (SELECT number FROM register_blockednumber"
        " WHERE number BETWEEN %(first)s AND %(last)s ORDER BY number) TO STDOUT (FORMAT binary)",
        {"first": int(numbers[0]), "last": int(numbers[-1])},
        sink,
    )
    # Header 19 bytes, trailer 2; a row: field count, length, the bigint.
    rows = np.frombuffer(
        sink.getbuffer(),
        dtype=np.dtype([("fields", ">i2"), ("length", ">i4"), ("number", ">i8")]),
        offset=19,
        count=(len(sink.getbuffer()) - 21) // 14,
    )
    registered = rows["number"].astype(np.int64)
    if not len(registered):
        return np.zeros(len(numbers), dtype=bool)
    found = np.minimum(np.searchsorted(registered, numbers), len(registered) - 1)
    return registered[found] == numbers


def _load(
    cursor,
    *,
    numbers: np.ndarray,
    rows: np.ndarray,
    loaded: np.ndarray,
    days: np.ndarray,
    masks: np.ndarray,
    register: Register,
    record: RegisterImport,
) -> None:
    """Copy the `loaded` ones of `numbers` into the register, with the days and masks of their
    `rows`, in one binary COPY, in the order given (by number: the primary key is then filled
    from the left). The COPY's messages are sent by a thread of their own while this one
    writes the next ones, so what the client does here takes no time of its own."""
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
        for start in range(0, len(numbers), LOAD_ROWS):
            chosen = loaded[start : start + LOAD_ROWS]
            chunk = rows[start : start + LOAD_ROWS][chosen]
            part = out[: len(chunk)]
            part["number"] = numbers[start : start + LOAD_ROWS][chosen]
            part["categories"] = masks[chunk]
            part["day"] = days[chunk]
            copy.write(part.tobytes())
        copy.write(b"\xff\xff")


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
            numbers, days, masks = rows.join(rows.good[1:], (np.int64, np.int32, np.int16))
            # Of a number's lines, its first comes first.
            numbers, order = _number_order(numbers)
            first = np.ones(len(numbers), dtype=bool)
            first[1:] = numbers[1:] != numbers[:-1]
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
                    registered = _registered(numbers)
                    loaded = first & ~registered
                with _phase("load"):
                    _load(
                        cursor,
                        numbers=numbers,
                        rows=order,
                        loaded=loaded,
                        days=days,
                        masks=masks,
                        register=register,
                        record=record,
                    )
                result.loaded = int(loaded.sum())
            with _phase("report"):
                (lines,) = rows.join(rows.good[:1], (np.int64,))
                skipped = _skipped(rows, lines, numbers, order, registered, loaded)
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
    lines: np.ndarray,
    numbers: np.ndarray,
    order: np.ndarray,
    registered: np.ndarray,
    loaded: np.ndarray,
) -> Iterator[SkippedLine]:
    """The lines refused by their number's range or reading, registered before, or repeating a
    number loaded from an earlier line, in line order; their text is the number."""
    refused_lines, refused_numbers, refused_reasons = rows.join(
        rows.refused, (np.int64, np.int64, np.int8)
    )
    repeated = ~loaded & ~registered
    skipped_lines = np.concatenate(
        [refused_lines, lines[order[registered]], lines[order[repeated]]]
    )
    skipped_numbers = np.concatenate([refused_numbers, numbers[registered], numbers[repeated]])
    reasons = np.concatenate(
        [
            refused_reasons,
            np.full(int(registered.sum()), _REASON_CODES[SkipReason.REGISTERED], dtype=np.int8),
            np.full(int(repeated.sum()), _REASON_CODES[SkipReason.DUPLICATE], dtype=np.int8),
        ]
    )
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


def _copy_out(statement: str, params: dict, sink: BinaryIO) -> None:
    """Runs a COPY … TO STDOUT on the import's connection and writes what it sends to `sink`.

    Straight from libpq, in blocks: PostgreSQL sends a message per row, and psycopg's Copy
    iterator costs about a microsecond each, half the time of the whole query for ten million.
    """
    with psycopg.ClientCursor(connection.connection) as cursor:
        statement = cursor.mogrify(statement, params)
    pgconn = connection.connection.pgconn
    result = pgconn.exec_(statement.encode())
    if result.status != pq.ExecStatus.COPY_OUT:
        raise psycopg.DatabaseError(result.get_error_message())
    read = pgconn.get_copy_data
    buffer = bytearray()
    while True:
        length, data = read(0)
        if length < 0:
            break
        buffer += data
        if len(buffer) >= BLOCK_BYTES:
            sink.write(buffer)
            buffer.clear()
    sink.write(buffer)
    result = pgconn.get_result()
    # The end of the statement's results: the connection is ready for the next one.
    while pgconn.get_result() is not None:
        pass
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.DatabaseError(result.get_error_message())


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
