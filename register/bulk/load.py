"""Loading a register file (SPEC §5 admin import): the numbers sorted in the client, those
already registered and repeats left out, the rest written by one binary COPY (into the register,
or into a table that takes its place), the skipped lines reported in line order. All of it one
transaction."""

import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from heapq import merge
from typing import BinaryIO, TextIO

import numpy as np
import psycopg
from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter

from register.bulk import lines
from register.bulk.lines import (
    BOM,
    DUPLICATE_CODE,
    REASONS,
    REGISTERED_CODE,
    ImportReport,
    Rows,
    SkippedLine,
    SkipReason,
    file_blocks,
)
from register.copy import copy_out
from register.models import Channel, Register, RegisterImport

logger = logging.getLogger(__name__)

# Rows of the file's order written at a time to the load's COPY stream: 16 MB at most.
LOAD_ROWS = 1 << 18

# The load goes into a table of its own, indexed whole once loaded, which then takes the
# register's place (`_take_registers_place`), when the numbers already registered (of every
# register: they share the table) are at most one in this many of the lines to load. Inserted
# into a primary key that already holds numbers, every insert walks the tree from its root and
# every split leaves half a page empty: far slower than loading the table and indexing it
# whole. The registered numbers are then copied over with the table locked, so readers wait
# for those alone: one in ten keeps that wait under a tenth of the load's own time.
REBUILD_RATIO = 10
# How long one try to lock the register may hold up the readers queued behind it, and the
# pause before the next (register.bulk.load._lock_register).
LOCK_TRY_MS = 100
LOCK_PAUSE_SECONDS = 1.0


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Logs how long a phase of the import took (the benchmark prints these)."""
    started = time.perf_counter()
    yield
    logger.debug("%s: %.1f s", name, time.perf_counter() - started)


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


def number_order(blocks: list[np.ndarray]) -> _Ordered:
    """The numbers of `blocks` (joined) in ascending order and where each came from.

    A number's digits and its position packed in one int64 where they fit (always, for a
    register's numbers up to hundreds of millions of lines): numpy sorts integers ten times
    as fast as it orders their positions. Packed a block at a time, in the processor's
    cache, and unpacked only a part at a time, as the load writes it.

    Must equal the joined numbers ordered by `np.argsort(numbers, kind="stable")`, with those
    positions: held to it by `test_numbers_are_ordered_with_repeats_in_their_order`
    (tests/register/bulk/test_import.py).
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
        block_bytes=lines.BLOCK_BYTES,
    )
    # Header 19 bytes, trailer 2; a row: field count, length, the bigint.
    rows = np.frombuffer(
        sink.getbuffer(),
        dtype=np.dtype([("fields", ">i2"), ("length", ">i4"), ("number", ">i8")]),
        offset=19,
        count=(len(sink.getbuffer()) - 21) // 14,
    )
    return rows["number"].astype(np.int64)


def _rebuild_fits(cursor, lines: int) -> bool:
    """Whether the register may be loaded into a table of its own that then takes its place:
    few numbers registered next to the `lines` to load, and nothing attached to the table that
    `CREATE TABLE … (LIKE …)` would not carry over (a table that grew grants, triggers, views,
    foreign keys pointing to it, a publication or partitions is loaded into in place)."""
    cursor.execute(
        """
        SELECT relkind = 'r' AND relacl IS NULL
            AND NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = oid)
            AND NOT EXISTS (SELECT FROM pg_constraint WHERE confrelid = oid)
            AND NOT EXISTS (SELECT FROM pg_publication_rel WHERE prrelid = oid)
            AND NOT EXISTS (
                SELECT FROM pg_depend WHERE refobjid = oid AND classid = 'pg_rewrite'::regclass
            )
            AND (SELECT count(*) FROM (
                SELECT FROM register_blockednumber LIMIT %(most)s + 1
            ) AS registered) <= %(most)s
        FROM pg_class WHERE oid = 'register_blockednumber'::regclass
        """,
        {"most": lines // REBUILD_RATIO},
    )
    return cursor.fetchone()[0]


def _lock_register(cursor) -> None:
    """Locks the register's table whole, never waiting long in the queue for it: a lock
    request waiting behind a long reader (a scrub, a download) would hold up every check and
    registration arriving after it until that reader ends. So each try gives up after
    LOCK_TRY_MS, and the import tries again a moment later, for as long as it takes."""
    cursor.execute(f"SET LOCAL lock_timeout = {LOCK_TRY_MS}")
    tries = 0
    while True:
        cursor.execute("SAVEPOINT register_lock")
        try:
            cursor.execute("LOCK TABLE register_blockednumber IN ACCESS EXCLUSIVE MODE")
        except psycopg.errors.LockNotAvailable:
            cursor.execute("ROLLBACK TO SAVEPOINT register_lock")
            tries += 1
            if tries % 60 == 0:
                logger.info("import: waiting for the register's readers to finish (%d)", tries)
            time.sleep(LOCK_PAUSE_SECONDS)
        else:
            cursor.execute("RELEASE SAVEPOINT register_lock")
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
            return


def _take_registers_place(cursor) -> None:
    """Index the loaded table whole, copy the registered numbers into it, and let it take the
    register's place, with the storage settings the register's table and key had.

    Until the copy the register is only read, so it stays open to readers and writers; from
    the copy to the commit it is locked whole. A transaction that read the register before
    goes on to its end first; one waiting behind the lock then finds the new table by its
    name. Like PostgreSQL's own rewrites (CLUSTER, TRUNCATE), this is not MVCC-safe: a
    REPEATABLE READ transaction whose snapshot was taken before the commit would find the new
    table empty, so such readers lock the register before they take it (campaigns.marking).
    A number registered by someone else since the load read the register fails the copy on
    the primary key, and the import rolls back whole, as it would in place."""
    cursor.execute(
        """
        SELECT table_.reloptions, key.reloptions FROM pg_class AS table_, pg_class AS key
        WHERE table_.oid = 'register_blockednumber'::regclass
            AND key.oid = 'register_blockednumber_pkey'::regclass
        """
    )
    table_options, key_options = cursor.fetchone()
    if table_options:
        cursor.execute(f"ALTER TABLE register_blockednumber_load SET ({', '.join(table_options)})")
    # Sorted in memory: the key of ten million numbers is built in a third of the time the
    # default 64 MB takes, spilling to disk.
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute(
        "ALTER TABLE register_blockednumber_load"
        " ADD CONSTRAINT register_blockednumber_load_pkey PRIMARY KEY (number)"
        + (f" WITH ({', '.join(key_options)})" if key_options else "")
    )
    _lock_register(cursor)
    cursor.execute("INSERT INTO register_blockednumber_load SELECT * FROM register_blockednumber")
    cursor.execute("DROP TABLE register_blockednumber")
    cursor.execute("ALTER TABLE register_blockednumber_load RENAME TO register_blockednumber")
    cursor.execute(
        "ALTER INDEX register_blockednumber_load_pkey RENAME TO register_blockednumber_pkey"
    )


def _load(
    cursor,
    *,
    table: str,
    ordered: _Ordered,
    registered: np.ndarray,
    days: np.ndarray,
    masks: np.ndarray,
    register: Register,
    record: RegisterImport,
) -> tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Copy the numbers of `ordered` into the register's `table`, each from its first row (of
    `days` and `masks`), leaving out those `registered` (ascending), in one binary COPY, by
    number: a primary key is then filled from the left. The COPY's messages are sent by a thread
    of their own while this one writes the next ones, so what the client does here takes no
    time of its own. Returns how many were loaded, and the positions, numbers and reason
    codes of the rows left out.

    Must equal, row by row in number order, "load a number's first row unless the number is
    registered; report its other rows as repeats, all of them when registered": held to it,
    in parts of 1, 2 and 4 rows, by
    `test_the_load_is_written_in_parts_leaving_out_repeats_and_registered_numbers`
    (tests/register/bulk/test_import.py)."""
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
        f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)",
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
            skipped[2].append(
                np.where(known[left_out], REGISTERED_CODE, DUPLICATE_CODE).astype(np.int8)
            )
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
        today = register.today()
    result = ImportReport()
    digest = hashlib.sha256()
    # Lines refused while parsing, spooled so memory stays flat whatever the file holds.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        rows = Rows(register, today, spool)
        with phase("read"), ThreadPoolExecutor(max_workers=1) as hashing:
            # The digest in a thread of its own (hashlib lets go of the GIL), a block at a
            # time and in order, while this one reads the block.
            hashed = None
            for data, offset in file_blocks(source):
                if hashed is not None:
                    hashed.result()
                elif offset:
                    # The first block starts after a byte order mark: the file has it.
                    digest.update(BOM)
                hashed = hashing.submit(digest.update, data)
                rows.block(data, offset)
        with phase("sort"):
            ordered = number_order(rows.good[1])
            rows.good[1].clear()
            days, masks = rows.join(rows.good[2:], (np.int32, np.int16))
        with transaction.atomic():
            record = RegisterImport.objects.create(
                register=register, imported_by=imported_by, file_name=file_name
            )
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                with phase("registered"):
                    # Every line of a number registered before is skipped as such. A number
                    # registered by someone else from here on makes the load fail on the primary
                    # key and the import roll back whole.
                    registered = _registered(ordered)
                    rebuild = _rebuild_fits(cursor, len(ordered))
                if rebuild:
                    cursor.execute(
                        "CREATE TABLE register_blockednumber_load"
                        " (LIKE register_blockednumber INCLUDING ALL EXCLUDING INDEXES)"
                    )
                with phase("load"):
                    result.loaded, left_out = _load(
                        cursor,
                        table="register_blockednumber_load"
                        if rebuild
                        else "register_blockednumber",
                        ordered=ordered,
                        registered=registered,
                        days=days,
                        masks=masks,
                        register=register,
                        record=record,
                    )
                if rebuild:
                    with phase("index"):
                        _take_registers_place(cursor)
            with phase("report"):
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
    rows: Rows,
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
        yield SkippedLine(line, REASONS[reason], str(number))


def _read_spool(spool: TextIO) -> Iterator[SkippedLine]:
    for row in spool:
        line, reason, text = row.rstrip("\n").split(";", 2)
        yield SkippedLine(int(line), SkipReason(reason), text)
