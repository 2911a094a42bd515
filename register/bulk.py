"""Register import and export at COPY speed (SPEC §5 admin import, §16 commands).

The import streams the file once: Python validates and normalises each line and writes it to a
temporary staging table through PostgreSQL's COPY protocol in large chunks, so the server parses
one chunk while Python prepares the next. Duplicates and numbers already registered are then
settled by one set-based statement that also writes the history, inside one transaction.
"""

import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from heapq import merge
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from register.errors import DomainError
from register.models import ALL_CATEGORIES, Channel, EventAction, Register
from register.phone import Normaliser, Problem

CHUNK_BYTES = 4 << 20
# Rows that carry no number keep the staging table's line numbering equal to the file's.
_NO_ROW = "\\N\t\\N\t\\N\n"


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


class _LineParser:
    """Turns one import line into a staging row for COPY, or the reason to skip it."""

    def __init__(self, register: Register, today: date):
        self.register = register
        self.today = today
        self.normaliser = Normaliser(register.country)
        self.canonical = _CanonicalVerdicts(self.normaliser, register.calling_code)
        self.dates: dict[str, str | None] = {"": today.isoformat()}
        self.masks: dict[str, str | None] = {"": str(ALL_CATEGORIES)}

    def date(self, text: str) -> str | None:
        try:
            return self.dates[text]
        except KeyError:
            pass
        try:
            value = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d\d-\d\d", text) else None
        except ValueError:
            value = None
        result = value.isoformat() if value is not None and value <= self.today else None
        self.dates[text] = result
        return result

    def mask(self, text: str) -> str | None:
        try:
            return self.masks[text]
        except KeyError:
            pass
        codes = {code.strip() for code in text.split(",")} - {""}
        try:
            result = str(self.register.category_mask(codes)) if codes else str(ALL_CATEGORIES)
        except ValueError:
            result = None
        self.masks[text] = result
        return result

    def rows(self, lines: list[str], first: int, skipped: list[SkippedLine]) -> tuple[str, int]:
        """COPY text for `lines` (numbered from `first`), one row each, and how many carry a
        number; the lines skipped go to `skipped`."""
        out = []
        append = out.append
        canonical = self.canonical
        dates = self.dates
        masks = self.masks
        staged = 0
        for offset, line in enumerate(lines):
            fields = line.split(";")
            number_text = fields[0].strip()
            if len(fields) > 3:
                reason = SkipReason.TOO_MANY_FIELDS
            elif not number_text and len(fields) == 1:
                append(_NO_ROW)
                continue
            else:
                problem = canonical(number_text)
                if problem is False:
                    verdict = self.normaliser(number_text)
                    problem, number_text = verdict.problem, str(verdict.number)
                if problem is not None:
                    reason = _PROBLEM_REASONS[problem]
                else:
                    day_text = fields[1].strip() if len(fields) > 1 else ""
                    day = dates[day_text] if day_text in dates else self.date(day_text)
                    cats = fields[2].strip() if len(fields) > 2 else ""
                    mask = masks[cats] if cats in masks else self.mask(cats)
                    if day is None:
                        reason = SkipReason.BAD_DATE
                    elif mask is None:
                        reason = SkipReason.UNKNOWN_CATEGORY
                    else:
                        append(f"{number_text}\t{day}\t{mask}\n")
                        staged += 1
                        continue
            skipped.append(SkippedLine(first + offset, reason, line))
            append(_NO_ROW)
        return "".join(out), staged


def _chunks(source: BinaryIO | TextIO) -> Iterator[list[str]]:
    """The source's lines in lists of about CHUNK_BYTES, decoded as UTF-8 with or without BOM."""
    carry = b""
    offset = 0
    first = True
    while True:
        data = source.read(CHUNK_BYTES)
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
            yield _decode(data[:cut], offset).split("\n")[:-1]
            offset += cut
    if carry:
        yield [_decode(carry, offset)]


def _decode(data: bytes, offset: int) -> str:
    try:
        return data.decode("utf-8").replace("\r", "")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _("The file is not UTF-8 text (byte %(position)d cannot be read).")
            % {"position": offset + error.start}
        ) from error


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
    parser = _LineParser(register, today)
    result = ImportReport()
    # Lines skipped while parsing, spooled so memory stays flat whatever the file holds.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool, transaction.atomic():
        staged = 0
        lines = 0
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE register_import_staging ("
                " line bigint GENERATED ALWAYS AS IDENTITY,"
                " number bigint, registered_on date, categories smallint"
                ")"
            )
            with cursor.connection.cursor().copy(
                "COPY register_import_staging (number, registered_on, categories) FROM STDIN"
            ) as copy:
                for chunk in _chunks(source):
                    skipped: list[SkippedLine] = []
                    rows, count = parser.rows(chunk, lines + 1, skipped)
                    copy.write(rows)
                    lines += len(chunk)
                    staged += count
                    for line in skipped:
                        spool.write(f"{line.line};{line.reason};{line.text}\n")
                        result.skipped[line.reason] += 1
            result.loaded = _load(cursor, register)
            spool.seek(0)
            sql_skips: Iterator[SkippedLine] = iter(())
            if result.loaded < staged:
                sql_skips = _skipped_by_database(cursor)
            for line in merge(_read_spool(spool), sql_skips, key=lambda skip: skip.line):
                if line.reason in (SkipReason.DUPLICATE, SkipReason.REGISTERED):
                    result.skipped[line.reason] += 1
                if len(result.first_skipped) < shown:
                    result.first_skipped.append(line)
                if report is not None:
                    report.write(f"{line.line};{line.reason}\n")
            # Dropped here, not on commit: a caller's transaction may hold a second import.
            cursor.execute("DROP TABLE register_import_staging")
    return result


def _read_spool(spool: TextIO) -> Iterator[SkippedLine]:
    for row in spool:
        line, reason, text = row.rstrip("\n").split(";", 2)
        yield SkippedLine(int(line), SkipReason(reason), text)


def _load(cursor, register: Register) -> int:
    """Insert the staged numbers not yet registered, each with its history event."""
    # The sort by number is the big one: in memory it is a quicksort, and inserting in number
    # order keeps the primary key's inserts on its rightmost pages.
    cursor.execute("SET LOCAL work_mem = '512MB'")
    cursor.execute("ANALYZE register_import_staging")
    # A number registered by someone else while this runs makes the insert fail on the primary
    # key and the import roll back whole: the anti-join is cheaper than ON CONFLICT per row.
    cursor.execute(
        """
        WITH winners AS (
            SELECT DISTINCT ON (number) number, registered_on, categories
            FROM register_import_staging
            WHERE number IS NOT NULL
            ORDER BY number, line
        ), loaded AS (
            INSERT INTO register_blockednumber (number, register_id, categories, registered_on,
                                                channel)
            SELECT w.number, %(register)s, w.categories, w.registered_on, %(channel)s
            FROM winners w
            WHERE NOT EXISTS (SELECT FROM register_blockednumber b WHERE b.number = w.number)
            RETURNING number, categories
        )
        INSERT INTO register_registerevent (register_id, number, action, categories, channel)
        SELECT %(register)s, number, %(action)s, categories, %(channel)s FROM loaded
        """,
        {"register": register.pk, "channel": Channel.IMPORT, "action": EventAction.BLOCK},
    )
    return cursor.rowcount


def _skipped_by_database(cursor) -> Iterator[SkippedLine]:
    """Staged lines that were not loaded: repeated in the file, or registered before.

    A register row written by this import carries the transaction id that also wrote the staging
    rows (xmin); any other was there before.
    """
    with cursor.connection.cursor().copy(
        """
        COPY (
            SELECT line, number,
                   CASE WHEN b.xmin <> me.xmin THEN 'registered' ELSE 'duplicate' END
            FROM (
                SELECT s.line, s.number, s.line > min(s.line) OVER (PARTITION BY s.number) AS rep
                FROM register_import_staging s
                WHERE s.number IS NOT NULL
            ) s
            JOIN register_blockednumber b USING (number)
            CROSS JOIN (SELECT xmin FROM register_import_staging LIMIT 1) me
            WHERE s.rep OR b.xmin <> me.xmin
            ORDER BY line
        ) TO STDOUT
        """
    ) as copy:
        for line, number, reason in copy.rows():
            yield SkippedLine(int(line), SkipReason(reason), number)


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
                sink.write(bytes(data))
        return cursor.rowcount
