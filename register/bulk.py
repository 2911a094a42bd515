"""Register import and export at COPY speed (SPEC §5 admin import, §16 commands).

The import streams the file once into a temporary staging table through COPY. Lines already in
the register's own shape (the country's E.164 digits, an ISO date, category codes) go to COPY as
the file has them, whole runs at a time; only other lines are read one by one by the normaliser.
PostgreSQL then judges the staged lines by the few distinct number prefixes, dates and category
lists they hold, which Python classifies once each; it drops repeats and numbers already
registered and sends the rows to load back sorted by number, which come in again through COPY
into the register and its history. All of it is one transaction.
"""

import logging
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from heapq import merge
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata
from psycopg.copy import QueuedLibpqWriter

from register.errors import DomainError
from register.models import ALL_CATEGORIES, Channel, EventAction, Register
from register.phone import Normaliser, Problem

logger = logging.getLogger(__name__)

BLOCK_BYTES = 8 << 20
# A line the normaliser refused, or an empty one: a row without a number keeps the staging
# table's line numbering equal to the file's.
_NO_ROW = "\\N;\\N;\\N\n"
# Staged numbers written with a plus are the normaliser's output; bare digits are the file's own.
_CHECKED = "+"
# A prefix whose digits the normaliser reads as a national number: its lines are read one by one.
_NATIONAL = "national"
_OK = "ok"


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


def _pattern_depth(items, start: float = 0) -> tuple[float, float] | None:
    """How far into a number (a digit string) a regular expression looks at the digits.

    Returns (depth, end): every position from `depth` on is matched by a plain `\\d`, so two
    numbers of the same length that agree on their first `depth` digits match alike; `end` is the
    furthest position the expression reaches. None when no such bound exists.
    """
    from re import _constants as c

    depth, end = 0.0, start
    for op, value in items:
        if op is c.IN and value == [(c.CATEGORY, c.CATEGORY_DIGIT)]:
            end += 1
        elif op in (c.LITERAL, c.IN, c.NOT_LITERAL):
            end += 1
            depth = max(depth, end)
        elif op is c.SUBPATTERN:
            inner = _pattern_depth(value[-1], end)
            if inner is None:
                return None
            depth, end = max(depth, inner[0]), inner[1]
        elif op is c.BRANCH:
            branches = [_pattern_depth(branch, end) for branch in value[1]]
            if None in branches:
                return None
            depth = max([depth, *(b[0] for b in branches)])
            end = max(b[1] for b in branches)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            _low, high, sub = value
            once = _pattern_depth(sub, 0)
            if once is None:
                return None
            if once[0] and (high is c.MAXREPEAT or end == float("inf")):
                return None
            reach = float("inf") if high is c.MAXREPEAT else high * once[1]
            if once[0]:
                depth = max(depth, end + (high - 1) * once[1] + once[0])
            end += reach
        elif op is c.AT:
            continue
        else:
            return None
        if depth == float("inf"):
            return None
    return depth, end


class _CanonicalVerdicts:
    """The normaliser's verdict on numbers already written as E.164 digits, memoised by prefix.

    A register file holds millions of numbers like `31612345678`; asking the normaliser for each
    would dominate the import. libphonenumber decides validity and type with patterns that only
    look at the first few digits and the length, so the verdict of one number holds for every
    number of the same length and prefix. Used only where the country code is the region's alone.
    """

    def __init__(self, normaliser: Normaliser, country_code: int):
        self.normaliser = normaliser
        self.code = str(country_code)
        self.verdicts: dict[tuple[str, int], Problem | bool | None] = {}
        self.depth = self._depth(normaliser.region)

    def _depth(self, region: str) -> int | None:
        if COUNTRY_CODE_TO_REGION_CODE.get(int(self.code)) != (region,):
            return None
        from re import _parser

        metadata = PhoneMetadata.metadata_for_region(region)
        patterns = [
            getattr(metadata, name).national_number_pattern
            for name in (
                "general_desc",
                "fixed_line",
                "mobile",
                "toll_free",
                "premium_rate",
                "shared_cost",
                "personal_number",
                "voip",
                "pager",
                "uan",
                "voicemail",
            )
            if getattr(metadata, name) is not None
        ]
        # Parsing first tries to strip a national prefix: its pattern shifts what follows.
        patterns.append(metadata.national_prefix_for_parsing or metadata.national_prefix or "")
        depths = [
            _pattern_depth(_parser.parse(pattern)) if pattern else (0, 0) for pattern in patterns
        ]
        if None in depths:
            return None
        *numbers, prefix = depths
        return len(self.code) + int(prefix[0] + max(depth for depth, _end in numbers))

    def __call__(self, digits: str) -> Problem | bool | None:
        """The problem of a canonical number, or False when `digits` are not canonical here."""
        if (
            self.depth is None
            or not digits.startswith(self.code)
            or not (digits.isascii() and digits.isdigit())
            or digits[len(self.code) : len(self.code) + 1] in ("", "0")
        ):
            return False
        key = (digits[: self.depth], len(digits))
        try:
            return self.verdicts[key]
        except KeyError:
            pass
        # Digits alone may read as a national number (`318003819` is 0318 003819, not the
        # toll-free 31 800 3819): such a prefix stays with the normaliser, line by line.
        verdict = self.normaliser(digits)
        problem = verdict.problem if verdict.number == int(digits) else False
        self.verdicts[key] = problem
        return problem


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

    def rows(self, lines: list[str], first: int, skipped: list[SkippedLine]) -> tuple[str, int]:
        """COPY text for `lines` (numbered from `first`), one row each, and how many carry a
        number; the lines whose number is refused go to `skipped`."""
        out = []
        append = out.append
        normaliser = self.normaliser
        staged = 0
        for offset, line in enumerate(lines):
            fields = line.split(";")
            number_text = fields[0].strip()
            if len(fields) > 3:
                skipped.append(SkippedLine(first + offset, SkipReason.TOO_MANY_FIELDS, line))
            elif not number_text and len(fields) == 1:
                pass
            else:
                number, problem = normaliser(number_text)
                if problem is None:
                    day = fields[1].strip() if len(fields) > 1 else ""
                    cats = fields[2].strip() if len(fields) > 2 else ""
                    append(f"{_CHECKED}{number};{_escape(day)};{_escape(cats)}\n")
                    staged += 1
                    continue
                skipped.append(SkippedLine(first + offset, _PROBLEM_REASONS[problem], line))
            append(_NO_ROW)
        return "".join(out), staged


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\") if "\\" in text else text


def _canonical_lines(register: Register, depth: int | None) -> re.Pattern[bytes] | None:
    """A run of lines in the register's canonical shape: `number[;date[;categories]]` with the
    number in E.164 digits of the register's country (at most 15), the date YYYY-MM-DD shaped.

    Such lines hold nothing COPY would read differently from the text (no backslash) and nothing
    the classification in SQL cannot judge; None when numbers cannot be judged by their prefix.
    """
    if depth is None:
        return None
    code = str(register.calling_code)
    # Possessive everywhere: a line either matches or stops the run, nothing to backtrack into.
    return re.compile(
        (
            rf"(?:{code}[1-9][0-9]{{0,{14 - len(code)}}}+"
            r"(?:;(?:[0-9]{4}-[0-9]{2}-[0-9]{2})?+(?:;[a-z0-9_,-]*+)?+)?+\r?+\n)*+"
        ).encode()
    )


_TWO_FIELDS = re.compile(rb"^([0-9]++;[^;\n]*+)$", re.MULTILINE)
_ONE_FIELD = re.compile(rb"^([0-9]++)$", re.MULTILINE)


def _three_fields(run: bytes) -> bytes:
    """A run of canonical lines with the fields left out written empty, as COPY needs them."""
    if b"\r" in run:
        run = run.replace(b"\r", b"")
    if run.count(b";") != 2 * run.count(b"\n"):
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
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
                offset = 3
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
        while position < size:
            end = match(data, position).end() if match is not None else position
            if end > position:
                run = data[position:end]
                self.copy.write(_three_fields(run))
                lines = run.count(b"\n")
                self.count += lines
                self.staged += lines
                position = end
            # The other lines up to the next canonical one, parsed in one go.
            while end < size and (match is None or match(data, end).end() == end):
                end = data.index(b"\n", end) + 1
            if end > position:
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
) -> ImportReport:
    """Load `number[;registered_on[;categories]]` lines into the register, all or nothing.

    Every skipped line is counted by reason; the first `shown` are kept in the result and all
    of them, as `line;reason`, are written to `report` when given.
    """
    if today is None:
        today = timezone.localtime(timezone.now(), ZoneInfo(register.time_zone)).date()
    lines = _Lines(register, today)
    verdicts = _CanonicalVerdicts(lines.normaliser, register.calling_code)
    result = ImportReport()
    # Lines refused while parsing, spooled so memory stays flat whatever the file holds.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool, transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            # The sort of the rows to load is the big one: in memory it is a quicksort.
            cursor.execute("SET LOCAL work_mem = '1GB'")
            cursor.execute(
                "CREATE TEMP TABLE register_import_staging ("
                " line bigint GENERATED ALWAYS AS IDENTITY,"
                " number text, day text, categories text, problem text"
                ")"
            )
            with (
                _phase("stage"),
                cursor.copy(
                    "COPY register_import_staging (number, day, categories) FROM STDIN"
                    " (DELIMITER ';')",
                    writer=QueuedLibpqWriter(cursor),
                ) as copy,
            ):
                stager = _Stager(copy, lines, _canonical_lines(register, verdicts.depth), spool)
                for data, offset in _blocks(source):
                    stager.block(data, offset)
            with _phase("classify"):
                _classify(cursor, lines, verdicts)
            with _phase("select"):
                _select(cursor, verdicts.depth or 0)
            with _phase("load"):
                result.loaded = _load(cursor, register)
            with _phase("report"):
                spool.seek(0)
                sql_skips: Iterator[SkippedLine] = iter(())
                if result.loaded < stager.staged:
                    sql_skips = _skipped_by_database(cursor, verdicts.depth or 0)
                for line in merge(_read_spool(spool), sql_skips, key=lambda skip: skip.line):
                    result.skipped[line.reason] += 1
                    if len(result.first_skipped) < shown:
                        result.first_skipped.append(line)
                    if report is not None:
                        report.write(f"{line.line};{line.reason}\n")
            # Dropped here, not on commit: a caller's transaction may hold a second import.
            cursor.execute(
                "DROP TABLE register_import_staging, register_import_prefixes,"
                " register_import_days, register_import_categories, register_import_rows"
            )
    return result


def _read_spool(spool: TextIO) -> Iterator[SkippedLine]:
    for row in spool:
        line, reason, text = row.rstrip("\n").split(";", 2)
        yield SkippedLine(int(line), SkipReason(reason), text)


def _classify(cursor, lines: _Lines, verdicts: "_CanonicalVerdicts") -> None:
    """Judge the distinct number prefixes, dates and category lists of the staged lines.

    Fills register_import_prefixes (prefix, length, verdict), register_import_days (text, day)
    and register_import_categories (text, mask), a NULL day or mask where the text is refused,
    and reads the lines of national-looking prefixes again one by one.
    """
    depth = verdicts.depth or 0
    cursor.execute(
        "CREATE TEMP TABLE register_import_prefixes (prefix text, length int, verdict text);"
        "CREATE TEMP TABLE register_import_days (text text, day date);"
        "CREATE TEMP TABLE register_import_categories (text text, mask smallint)"
    )
    prefixes, days, masks = [], [], []
    # One pass over the staging table for all three, in hash tables: statistics on the prefix
    # tell the planner they are few, else it sorts ten million texts by collation (a minute).
    cursor.execute(
        "CREATE STATISTICS register_import_staging_prefix"
        f" ON (left(number, {depth})), (length(number)) FROM register_import_staging"
    )
    cursor.execute("ANALYZE register_import_staging")
    cursor.execute(
        f"""
        SELECT left(number, {depth}), length(number), min(number COLLATE "C"), day, categories,
               GROUPING(day, categories)
        FROM register_import_staging
        GROUP BY GROUPING SETS ((left(number, {depth}), length(number)), day, categories)
        """  # noqa: S608 - depth is an int
    )
    for prefix, length, sample, day, categories, grouping in cursor.fetchall():
        if grouping == 0b11:
            if prefix is not None and not prefix.startswith(_CHECKED):
                problem = verdicts(sample)
                verdict = _NATIONAL if problem is False else (problem or _OK)
                prefixes.append((prefix, length, str(verdict)))
        elif grouping == 0b01 and day is not None:
            days.append((day, lines.date(day)))
        elif grouping == 0b10 and categories is not None:
            masks.append((categories, lines.mask(categories)))
    for table, rows in (
        ("register_import_prefixes", prefixes),
        ("register_import_days", days),
        ("register_import_categories", masks),
    ):
        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"ANALYZE {table}")
    if any(verdict == _NATIONAL for _prefix, _length, verdict in prefixes):
        _read_national(cursor, lines, depth)


def _read_national(cursor, lines: _Lines, depth: int) -> None:
    """Give the lines whose prefix reads as a national number the normaliser's own verdict."""
    with tempfile.TemporaryFile() as national:
        with cursor.copy(
            f"""
            COPY (
                SELECT s.line, s.number
                FROM register_import_staging s
                JOIN register_import_prefixes p
                    ON p.prefix = left(s.number, {depth}) AND p.length = length(s.number)
                WHERE p.verdict = '{_NATIONAL}'
            ) TO STDOUT
            """  # noqa: S608 - depth is an int
        ) as copy:
            for data in copy:
                national.write(data)
        national.seek(0)
        cursor.execute(
            "CREATE TEMP TABLE register_import_national (line bigint, number text, problem text)"
        )
        with cursor.copy("COPY register_import_national FROM STDIN") as copy:
            for row in national:
                line, digits = row.decode().rstrip("\n").split("\t")
                number, problem = lines.normaliser(digits)
                if problem is None:
                    copy.write_row((line, f"{_CHECKED}{number}", None))
                else:
                    copy.write_row((line, None, _PROBLEM_REASONS[problem].value))
    cursor.execute(
        "UPDATE register_import_staging s SET number = n.number, problem = n.problem"
        " FROM register_import_national n WHERE s.line = n.line;"
        "DROP TABLE register_import_national"
    )


def _valid_rows(depth: int) -> str:
    """The staged lines that pass every check, with their number, date and mask."""
    return f"""
        SELECT s.line, s.number::bigint AS number, d.day AS registered_on, c.mask AS categories
        FROM register_import_staging s
        LEFT JOIN register_import_prefixes p
            ON p.prefix = left(s.number, {depth}) AND p.length = length(s.number)
        JOIN register_import_days d ON d.text = s.day
        JOIN register_import_categories c ON c.text = s.categories
        WHERE (p.verdict = '{_OK}' OR starts_with(s.number, '{_CHECKED}'))
            AND d.day IS NOT NULL AND c.mask IS NOT NULL
    """  # noqa: S608 - depth is an int


def _select(cursor, depth: int) -> None:
    """Collect the rows to load, sorted by number, in register_import_rows."""
    # A number registered by someone else while this runs makes the load fail on the primary
    # key and the import roll back whole.
    cursor.execute(
        f"""
        CREATE TEMP TABLE register_import_rows AS
        SELECT DISTINCT ON (v.number) v.number, v.line, v.registered_on, v.categories
        FROM ({_valid_rows(depth)}) v
        WHERE NOT EXISTS (SELECT FROM register_blockednumber b WHERE b.number = v.number)
        ORDER BY v.number, v.line
        """  # noqa: S608 - depth is an int
    )


def _load(cursor, register: Register) -> int:
    """Copy the selected rows into the register and its history, in number order."""
    loaded = 0
    for table, columns, select in (
        (
            "register_blockednumber",
            "number, register_id, categories, registered_on, channel",
            "number, %(register)s::bigint, categories, registered_on, %(channel)s::varchar",
        ),
        (
            "register_registerevent",
            "number, register_id, categories, action, channel",
            "number, %(register)s::bigint, categories, %(action)s::varchar, %(channel)s::varchar",
        ),
    ):
        params = {"register": register.pk, "channel": Channel.IMPORT, "action": EventAction.BLOCK}
        # Through the client: COPY writes in batches what INSERT … SELECT writes row by row.
        with tempfile.TemporaryFile() as rows:
            with cursor.copy(
                f"COPY (SELECT {select} FROM register_import_rows) TO STDOUT (FORMAT binary)",  # noqa: S608
                params,
            ) as copy:
                for data in copy:
                    rows.write(data)
            rows.seek(0)
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)") as copy:
                while data := rows.read(1 << 20):
                    copy.write(data)
            loaded = cursor.rowcount
    return loaded


def _skipped_by_database(cursor, depth: int) -> Iterator[SkippedLine]:
    """Staged lines not loaded: refused by their prefix, date or categories, repeated in the
    file, or registered before."""
    with cursor.copy(
        f"""
        COPY (
            SELECT s.line, ltrim(s.number, '{_CHECKED}'), CASE
                WHEN s.problem IS NOT NULL THEN s.problem
                WHEN p.verdict <> '{_OK}' THEN p.verdict
                WHEN d.day IS NULL THEN '{SkipReason.BAD_DATE}'
                WHEN c.mask IS NULL THEN '{SkipReason.UNKNOWN_CATEGORY}'
                WHEN r.number IS NULL THEN '{SkipReason.REGISTERED}'
                ELSE '{SkipReason.DUPLICATE}'
            END
            FROM register_import_staging s
            LEFT JOIN register_import_prefixes p
                ON p.prefix = left(s.number, {depth}) AND p.length = length(s.number)
            LEFT JOIN register_import_days d ON d.text = s.day
            LEFT JOIN register_import_categories c ON c.text = s.categories
            LEFT JOIN register_import_rows r ON r.number = ltrim(s.number, '{_CHECKED}')::bigint
            WHERE s.problem IS NOT NULL
                OR (s.number IS NOT NULL AND r.line IS DISTINCT FROM s.line)
            ORDER BY s.line
        ) TO STDOUT
        """  # noqa: S608 - depth is an int
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
