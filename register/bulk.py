"""Register import and export at COPY speed (SPEC §5 admin import, §16 commands).

The import streams the file once into a temporary staging table through COPY. Lines already in
the register's own shape (the country's E.164 digits, a date that exists and is not in the
future, the register's category codes in its order) go to COPY as the file has them, whole runs
at a time; only other lines are read one by one, by the normaliser and Python's date and
category rules. PostgreSQL then judges the staged numbers by the ranges of the number plan they
fall in (`register.phone.e164_ranges`), keeps each number's first line, leaves out numbers
already registered and sends the rows to load back sorted by number, which come in again
through COPY into the register. The history gets one row, the RegisterImport, which the loaded
numbers point to. All of it is one transaction.
"""

import calendar
import hashlib
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

import psycopg
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg import pq
from psycopg.copy import QueuedLibpqWriter

from register.errors import DomainError
from register.models import ALL_CATEGORIES, Channel, Register, RegisterImport
from register.phone import CONSUMER, PER_NUMBER, Normaliser, Problem, e164_ranges

logger = logging.getLogger(__name__)

BLOCK_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"
# A line the normaliser refused, or an empty one: a row without a number keeps the staging
# table's rows one for each line of the file.
_NO_ROW = ";;\n"


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

    def categories(self, mask: int) -> str:
        """The categories field as staged: the codes in the register's order, empty for all."""
        return "" if mask == ALL_CATEGORIES else ",".join(self.register.category_codes(mask))

    def rows(self, lines: list[str], first: int, skipped: list[SkippedLine]) -> tuple[str, int]:
        """COPY text for `lines` (numbered from `first`), one row each, and how many carry a
        number; the lines refused go to `skipped`."""
        out = []
        append = out.append
        normaliser = self.normaliser
        staged = 0
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
                    append(f"-{number};{day.isoformat()};{self.categories(mask)}\n")
                    staged += 1
                    continue
            if reason is not None:
                skipped.append(SkippedLine(first + offset, reason, line))
            append(_NO_ROW)
        return "".join(out), staged


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
    """A run of lines in the register's canonical shape, which COPY can stage as they are.

    `number[;date[;categories]]`: the number in E.164 digits of the register's country (at most
    15); the date empty or one that exists and is not after `today`; the categories empty or the
    register's codes in its order, as the export writes them. Such lines hold nothing COPY would
    read differently from the text (no backslash) and nothing to refuse but their number, which
    SQL judges by its range; None when numbers cannot be judged by their range.
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
    """A run of `lines` canonical lines with the fields left out written empty, as COPY needs."""
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


class _Stager:
    """Writes a file's lines to the staging table: canonical runs as they are, others parsed."""

    def __init__(self, copy, lines: _Lines, canonical: re.Pattern[bytes] | None, spool: TextIO):
        self.copy = copy
        self.lines = lines
        self.canonical = canonical
        self.spool = spool
        self.count = 0
        self.staged = 0

    def block(self, data: bytes, offset: int) -> None:
        position = 0
        size = len(data)
        match = self.canonical.match if self.canonical is not None else None
        # Where the canonical run starting at `position` ends: each run is matched once.
        run_end = match(data, 0).end() if match is not None else 0
        while position < size:
            if run_end > position:
                run = data[position:run_end]
                lines = run.count(b"\n")
                self.copy.write(_three_fields(run, lines))
                self.count += lines
                self.staged += lines
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

    def parse(self, data: bytes, offset: int) -> None:
        lines = _decode(data, offset).split("\n")[:-1]
        skipped: list[SkippedLine] = []
        rows, staged = self.lines.rows(lines, self.count + 1, skipped)
        self.copy.write(rows)
        self.count += len(lines)
        self.staged += staged
        for line in skipped:
            self.spool.write(f"{line.line};{line.reason};{line.text}\n")


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
    lines = _Lines(register, today)
    ranges = e164_ranges(register.country)
    result = ImportReport()
    digest = hashlib.sha256()
    # Lines refused while parsing, spooled so memory stays flat whatever the file holds.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool, transaction.atomic():
        record = RegisterImport.objects.create(
            register=register, imported_by=imported_by, file_name=file_name
        )
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            # No more work_mem for the sort of the rows to load: a quicksort of ten million rows
            # in memory took twice as long as the merge of sorted runs on disk, which reads
            # memory in order. Compiling the big statements did not pay either.
            cursor.execute("SET LOCAL jit = off")
            # One row per line of the file, in the file's order, and nothing ever updates or
            # deletes one: so the rows' physical order (ctid) is the lines' order, and a line
            # number column (a sequence call per row, a third of the staging time) is not needed.
            # Numbers the normaliser read are staged negated, the file's own E.164 digits as
            # they are; an empty field is NULL (no date: today; no categories: all).
            cursor.execute(
                "CREATE TEMP TABLE register_import_staging"
                " (number bigint, day date, categories text)"
            )
            with (
                _phase("stage"),
                cursor.copy(
                    "COPY register_import_staging FROM STDIN (DELIMITER ';', NULL '')",
                    writer=QueuedLibpqWriter(cursor),
                ) as copy,
                ThreadPoolExecutor(max_workers=1) as hashing,
            ):
                canonical = _canonical_lines(register, ranges, today)
                stager = _Stager(copy, lines, canonical, spool)
                # The digest in a thread of its own (hashlib lets go of the GIL), a block at a
                # time and in order, while this one stages the block.
                hashed = None
                for data, offset in _blocks(source):
                    if hashed is not None:
                        hashed.result()
                    elif offset:
                        # The first block starts after a byte order mark: the file has it.
                        digest.update(_BOM)
                    hashed = hashing.submit(digest.update, data)
                    stager.block(data, offset)
            judge = _Judge(cursor, register, ranges or ((0,), (PER_NUMBER,)), today)
            with _phase("classify"):
                judge.classify(lines)
            result.loaded = judge.load(record=record)
            with _phase("report"):
                spool.seek(0)
                sql_skips: Iterator[SkippedLine] = iter(())
                if result.loaded < stager.staged:
                    sql_skips = judge.skipped(record=record)
                for line in merge(_read_spool(spool), sql_skips, key=lambda skip: skip.line):
                    result.skipped[line.reason] += 1
                    if len(result.first_skipped) < shown:
                        result.first_skipped.append(line)
                    if report is not None:
                        report.write(f"{line.line};{line.reason}\n")
            # Dropped here, not on commit: a caller's transaction may hold a second import.
            cursor.execute(
                "DROP TABLE IF EXISTS register_import_staging, register_import_numbers,"
                " register_import_skipped"
            )
        record.sha256 = digest.hexdigest()
        record.loaded = result.loaded
        record.skipped = result.skipped_total
        record.save(update_fields=["sha256", "loaded", "skipped"])
    return result


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


def _bounds(ranges: tuple[tuple[int, ...], tuple[str, ...]], verdict: str) -> list[int]:
    """Where numbers enter and leave `verdict`'s ranges: `width_bucket` over these is odd
    exactly for the numbers inside, a binary search on integers (looking up the verdict in a
    text array instead costs four times as much)."""
    bounds: list[int] = []
    for start, each in zip(*ranges, strict=True):
        if (each == verdict) != (len(bounds) % 2 == 1):
            bounds.append(start)
    # width_bucket needs one bound at least; this one no number reaches.
    return bounds or [2**63 - 1]


class _Judge:
    """Judges the staged lines in SQL and loads the good ones.

    A staged number written as the register's E.164 digits is judged by the range it falls in
    (`e164_ranges`, by `width_bucket`); where its range says so it is read by the normaliser
    into register_import_numbers, by its row. Dates and categories of staged lines need no
    judging: canonical lines have good ones by their shape, and the others were read in Python.
    """

    def __init__(
        self,
        cursor,
        register: Register,
        ranges: tuple[tuple[int, ...], tuple[str, ...]],
        today: date,
    ):
        self.cursor = cursor
        self.register = register
        lists, masks = _category_lists(register)
        self.params = {
            "consumer": _bounds(ranges, CONSUMER),
            "per_number": _bounds(ranges, PER_NUMBER),
            "starts": list(ranges[0]),
            "verdicts": list(ranges[1]),
            "lists": lists,
            "masks": masks,
            "today": today,
        }
        self.per_number = False

    def classify(self, lines: _Lines) -> None:
        cursor = self.cursor
        cursor.execute(
            "CREATE TEMP TABLE register_import_numbers (line tid, number bigint, problem text)"
        )
        cursor.execute(
            "SELECT EXISTS (SELECT FROM register_import_staging"
            " WHERE width_bucket(number, %(per_number)s::bigint[]) %% 2 = 1)",
            self.params,
        )
        self.per_number = cursor.fetchone()[0]
        if self.per_number:
            self._read_per_number(lines)
            cursor.execute("ANALYZE register_import_numbers")

    def _read_per_number(self, lines: _Lines) -> None:
        """The normaliser's own reading of the numbers whose range calls for one."""
        cursor = self.cursor
        with tempfile.TemporaryFile() as numbers:
            with cursor.copy(
                "COPY (SELECT ctid, number FROM register_import_staging"
                " WHERE width_bucket(number, %(per_number)s::bigint[]) %% 2 = 1) TO STDOUT",
                self.params,
            ) as copy:
                for data in copy:
                    numbers.write(data)
            numbers.seek(0)
            with cursor.copy("COPY register_import_numbers FROM STDIN") as copy:
                for row in numbers:
                    line, digits = row.decode().rstrip("\n").split("\t")
                    number, problem = lines.normaliser(digits)
                    reason = None if problem is None else _PROBLEM_REASONS[problem].value
                    copy.write_row((line, number if problem is None else None, reason))

    def _valid(self) -> str:
        """The staged lines that pass every check: their number, row, date and categories."""
        fields = """
            coalesce(s.day, %(today)s::date) AS registered_on,
            coalesce(
                (%(masks)s::smallint[])[array_position(%(lists)s::text[], s.categories)], -1
            )::smallint AS mask
        """
        rows = f"""
            SELECT abs(s.number) AS number, s.ctid AS line, {fields}
            FROM register_import_staging s
            WHERE s.number < 0 OR width_bucket(s.number, %(consumer)s::bigint[]) %% 2 = 1
        """  # noqa: S608 - the module's constants
        if self.per_number:
            rows += f"""
                UNION ALL
                SELECT n.number, s.ctid, {fields}
                FROM register_import_numbers n
                JOIN register_import_staging s ON s.ctid = n.line
                WHERE n.problem IS NULL
            """  # noqa: S608 - the module's constants
        return rows

    def load(self, *, record: RegisterImport) -> int:
        """Copy the good lines into the register, each number once from its first line, in
        number order; returns how many."""
        cursor = self.cursor
        params = {
            **self.params,
            "register": self.register.pk,
            "channel": Channel.IMPORT,
            "import": record.pk,
        }
        # A number registered by someone else while this runs makes the load fail on the
        # primary key and the import roll back whole. Through the client and a file: COPY
        # writes rows in batches where INSERT … SELECT writes them one by one (five times
        # slower for ten million), and one connection cannot run two COPYs at once.
        # The columns every row has alike are added after the sort, which they would widen;
        # the numbers already registered are left out after it too, merged with the primary key
        # in number order.
        select = f"""
            SELECT number, %(register)s::bigint, mask, registered_on, %(channel)s::varchar,
                %(import)s::bigint
            FROM (
                SELECT DISTINCT ON (v.number) v.number, v.mask, v.registered_on
                FROM ({self._valid()}) v
                ORDER BY v.number, v.line
            ) sorted
            WHERE NOT EXISTS (
                SELECT FROM register_blockednumber b WHERE b.number = sorted.number
            )
        """  # noqa: S608 - the module's constants
        columns = "number, register_id, categories, registered_on, channel, imported_in_id"
        with tempfile.TemporaryFile() as rows:
            with _phase("select"):
                _copy_out(f"COPY ({select}) TO STDOUT (FORMAT binary)", params, rows)
            rows.seek(0)
            with (
                _phase("load"),
                cursor.copy(
                    f"COPY register_blockednumber ({columns}) FROM STDIN (FORMAT binary)"
                ) as copy,
            ):
                while data := rows.read(1 << 20):
                    copy.write(data)
        return cursor.rowcount

    def skipped(self, *, record: RegisterImport) -> Iterator[SkippedLine]:
        """Staged lines not loaded: refused by their number, registered before, or repeated in
        the file. Found without sorting the file: the refused ones by a scan, the registered
        ones by the primary key, the repeats by grouping the good lines' numbers."""
        cursor = self.cursor
        params = {**self.params, "import": record.pk}
        valid = self._valid()
        cursor.execute(
            f"""
            CREATE TEMP TABLE register_import_skipped AS
            SELECT s.ctid AS line, coalesce(n.number, abs(s.number)) AS number,
                coalesce(
                    n.problem,
                    (%(verdicts)s::text[])[width_bucket(s.number, %(starts)s::bigint[])]
                ) AS reason
            FROM register_import_staging s
            LEFT JOIN register_import_numbers n ON n.line = s.ctid
            WHERE CASE WHEN n.line IS NOT NULL THEN n.problem IS NOT NULL
                ELSE s.number > 0 AND width_bucket(s.number, %(consumer)s::bigint[]) %% 2 = 0
            END;
            INSERT INTO register_import_skipped
            SELECT v.line, v.number, '{SkipReason.REGISTERED}'
            FROM ({valid}) v
            WHERE EXISTS (
                SELECT FROM register_blockednumber b
                WHERE b.number = v.number AND b.imported_in_id IS DISTINCT FROM %(import)s
            );
            INSERT INTO register_import_skipped
            SELECT v.line, v.number, '{SkipReason.DUPLICATE}'
            FROM ({valid}) v
            JOIN (
                SELECT w.number, min(w.line) AS first
                FROM ({valid}) w
                GROUP BY w.number
                HAVING count(*) > 1
            ) repeated ON repeated.number = v.number AND v.line <> repeated.first
            WHERE EXISTS (
                SELECT FROM register_blockednumber b
                WHERE b.number = v.number AND b.imported_in_id = %(import)s
            )
            """,  # noqa: S608 - the module's constants
            params,
        )
        # Line numbers from the rows' order (see the staging table).
        with cursor.copy(
            """
            COPY (
                SELECT lines.line, k.number, k.reason
                FROM (
                    SELECT row_number() OVER (ORDER BY ctid) AS line, ctid
                    FROM register_import_staging
                ) lines
                JOIN register_import_skipped k ON k.line = lines.ctid
                ORDER BY lines.line
            ) TO STDOUT
            """
        ) as copy:
            for line, number, reason in copy.rows():
                yield SkippedLine(int(line), SkipReason(reason), number or "")


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
