"""CSV/TXT call files: records streamed, and the file written back with columns appended.

The file is read in chunks of bytes that end at a line break. Where a chunk has one kind of line
ending (nearly every file), its lines without a quote character are split with `str.split` and
checked with `map()`, in C; only runs of lines with quotes go through the csv module, which
honours quoted delimiters and line breaks. A chunk with mixed or lone-CR line endings goes
through the csv module whole. All supported encodings are ASCII-compatible, so the delimiter,
the quote and the line breaks are the same single bytes whatever the encoding.

Speed matters here (a scrub reads 1,000,000 records in a fraction of its few seconds), so the
per-record work is left to C wherever Python allows, and records are made only when the consumer
asks for them: a list of a chunk's records would outlive the young garbage collections and make
Python's full collections (of the whole Django heap) frequent.
"""

import csv
import operator
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import chain, compress, islice, repeat
from operator import methodcaller
from pathlib import Path
from typing import BinaryIO, NamedTuple

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from .base import (
    BLANK,
    BOM,
    LINE,
    FileSettings,
    IntakeCounts,
    Record,
    binary_error,
    error,
    header_only_error,
    is_blank,
    line_of,
    ragged_error,
    too_many_rows_error,
    unbalanced_error,
    undecodable_error,
)

_CHUNK_BYTES = 1 << 20
# A line longer than this is not a line of a call file; reading on would only fill memory.
_MAX_LINE_BYTES = 16 << 20
# Ends the input the csv module reads: it joins a field whose quote is never closed, and NUL
# bytes are refused before decoding, so it cannot be part of a file's text.
_SENTINEL = "\x00"
# Marks taken from the consumer at a time (see the module's note on garbage collection).
_MARK_BATCH = 512
# Chunks read ahead while the marks are being made: the whole of a small file, a bounded
# share (in memory) of a large one.
_READ_AHEAD_CHUNKS = 16

_has_quote = methodcaller("__contains__", '"')
_strip_blank = methodcaller("strip", BLANK)
# Builds a Record from a (line, fields) pair in C, without the Python-level __new__.
_record = partial(tuple.__new__, Record)


# --- Parsing ---------------------------------------------------------------------------------


class _Run(NamedTuple):
    """Lines start..stop of a chunk as the csv module reads them: `rows` are the records and
    `spans` their (start, stop) lines, or None when every record is one line."""

    start: int
    stop: int
    rows: list[list[str]]
    spans: list[tuple[int, int]] | None


def csv_records(
    lines: list[str],
    first: int,
    *,
    ending: str,
    delimiter: str,
    first_line: int,
    go_on: Callable[[int], object] | None = None,
) -> tuple[_Run, int | None]:
    """The records the csv module reads from lines[first:] (each with `ending` added, "" for
    lines that keep theirs), for as long as `go_on(next line)` says; and the number of the line
    where a record left open by the end of the lines starts (else None)."""
    end = len(lines)
    # map over a range starts at `first` at once, where islice would step through the list.
    following = map(lines.__getitem__, range(first, end))
    if ending:
        following = map(operator.add, following, repeat(ending))
    reader = csv.reader(chain(following, (_SENTINEL,)), delimiter=delimiter)
    rows: list[list[str]] = []
    spans: list[tuple[int, int]] = []
    start = first
    try:
        while start < end and (go_on is None or go_on(start)):
            fields = next(reader)
            stop = first + reader.line_num
            if stop > end:
                return _Run(first, start, rows, spans), first_line + start
            rows.append(fields)
            spans.append((start, stop))
            start = stop
    except csv.Error:
        # Only "field larger than field limit" is left with these lines: a quote never closed.
        raise unbalanced_error(first_line + start) from None
    return _Run(first, start, rows, spans), None


def _one_record_per_line(
    lines: Iterable[str], count: int, ending: str, delimiter: str
) -> list[list[str]] | None:
    """The records of `count` lines read in one go, if each is exactly one line; else None (a
    quoted line break, or a quote left open: csv_records reads those record by record). A record
    that starts and ends with its line is the same whatever lines come before and after it."""
    source = map(operator.add, lines, repeat(ending))
    reader = csv.reader(chain(source, (_SENTINEL,)), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error:
        return None
    if reader.line_num == len(rows) == count + 1 and rows[-1] == [_SENTINEL]:
        rows.pop()
        return rows
    return None


def _quoted_runs(
    lines: list[str], ending: str, delimiter: str, first_line: int
) -> tuple[list[_Run], int | None]:
    """The runs of lines with a quote (each with the lines its records take), read by the csv
    module; the lines between are left to str.split."""
    flags = bytes(map(_has_quote, lines))
    runs: list[_Run] = []
    position = 0
    while (start := flags.find(1, position)) >= 0:
        stop = flags.find(0, start)
        stop = len(lines) if stop < 0 else stop
        rows = _one_record_per_line(
            map(lines.__getitem__, range(start, stop)), stop - start, ending, delimiter
        )
        if rows is not None:
            runs.append(_Run(start, stop, rows, None))
            position = stop
            continue
        # Record by record while the next line has a quote too.
        run, open_at = csv_records(
            lines,
            start,
            ending=ending,
            delimiter=delimiter,
            first_line=first_line,
            go_on=flags.__getitem__,
        )
        if run.rows:
            runs.append(run)
        if open_at is not None:
            return runs, open_at
        position = run.stop
    return runs, None


class _Read:
    """The fields of a line the csv module read, standing in for the line among lines to split:
    it answers split, count and strip as a line would that held the same fields unquoted. So
    the C loops over a chunk's lines (see _RecordChecks.split) stay C loops where a few lines
    have quotes, calling Python only for those."""

    __slots__ = ("fields",)

    def __init__(self, fields: list[str]):
        self.fields = fields

    def split(self, _delimiter: str) -> list[str]:
        return self.fields

    def count(self, _delimiter: str) -> int:
        return len(self.fields) - 1

    def strip(self, _chars: str) -> str:
        return "".join(self.fields).strip(BLANK)


def _read_quoted(
    lines: list[str], ending: str, delimiter: str, first_line: int
) -> tuple[list[_Run], list | None, int | None]:
    """A chunk with quotes: its runs read by the csv module, or its lines with each quoted one
    replaced by its fields (see _Read); and where a record left open at its end starts.

    Nearly always every line is one record. Then, where most lines have quotes, all are read by
    the csv module in one go; where few have, only those are, in one go, and the rest are split.
    Otherwise (quoted line breaks, a quote left open) runs are read record by record."""
    quoted = list(compress(range(len(lines)), map(_has_quote, lines)))
    if 2 * len(quoted) > len(lines):
        rows = _one_record_per_line(lines, len(lines), ending, delimiter)
        if rows is not None:
            return [_Run(0, len(lines), rows, None)], None, None
    else:
        rows = _one_record_per_line(map(lines.__getitem__, quoted), len(quoted), ending, delimiter)
        if rows is not None:
            mixed: list = lines.copy()
            for index, row in zip(quoted, rows, strict=True):
                mixed[index] = _Read(row)
            return [], mixed, None
    runs, open_at = _quoted_runs(lines, ending, delimiter, first_line)
    return runs, None, open_at


class _Lines(NamedTuple):
    """A chunk of physical lines. With one kind of line ending the lines are without it;
    otherwise `ending` is "", the lines keep theirs and one run holds every record."""

    first_line: int
    lines: list[str]
    ending: str
    terminated: bool  # whether the last line has its ending (only the file's last may not)
    runs: list[_Run]
    # The lines with each quoted one read already (see _Read), where every line is one record.
    mixed: list | None = None

    def segments(self) -> Iterator[tuple[int, int, _Run | None]]:
        """(start, stop, run) in line order; run None for lines to split with str.split."""
        position = 0
        for run in self.runs:
            if run.start > position:
                yield position, run.start, None
            yield run.start, run.stop, run
            position = run.stop
        if position < len(self.lines):
            yield position, len(self.lines), None

    def part(self, start: int, stop: int) -> list[str]:
        return self.lines if start == 0 and stop == len(self.lines) else self.lines[start:stop]


class _Piece(NamedTuple):
    first_line: int
    data: bytes
    final: bool
    crs: int
    lfs: int
    crlfs: int


def _byte_chunks(path: Path, encoding: str) -> Iterator[_Piece]:
    """The file (without a UTF-8 BOM) in pieces that end at a line break (the last one perhaps
    not), with the number of the first line and the line break bytes; NUL bytes refused."""
    with path.open("rb") as f:
        if encoding != "utf-8-sig" or f.read(len(BOM)) != BOM:
            f.seek(0)
        carry = b""
        first_line = 1
        while True:
            block = f.read(_CHUNK_BYTES)
            buffer = carry + block if carry else block
            final = not block
            if final:
                if not buffer:
                    return
                piece, carry = buffer, b""
            else:
                cut = buffer.rfind(b"\n")
                if cut < 0:
                    # Only lone CRs (old Mac files); one at the very end may be half of a CRLF.
                    cut = buffer.rfind(b"\r", 0, len(buffer) - 1)
                if cut < 0:
                    if len(buffer) > _MAX_LINE_BYTES:
                        raise error(
                            "binary_file",
                            _("this line is longer than 16 MB: this is not a call file."),
                            first_line,
                        )
                    carry = buffer
                    continue
                piece, carry = buffer[: cut + 1], buffer[cut + 1 :]
            if b"\x00" in piece:
                raise binary_error(first_line + line_of(piece, piece.index(b"\x00")) - 1)
            crs, lfs = piece.count(b"\r"), piece.count(b"\n")
            crlfs = piece.count(b"\r\n") if crs else 0
            yield _Piece(first_line, piece, final, crs, lfs, crlfs)
            if final:
                return
            # Lone CRs are line breaks too; CRLF counts once.
            first_line += lfs + crs - crlfs


def _chunks(path: Path, settings: FileSettings) -> Iterator[_Lines]:
    """The file decoded and split into lines, chunk by chunk. A record a chunk leaves open (a
    quoted field with a line break) is carried into the next chunk."""
    decode = "utf-8" if settings.encoding == "utf-8-sig" else settings.encoding
    delimiter = settings.delimiter
    leftover, leftover_line = "", 0
    for first_line, piece, final, crs, lfs, crlfs in _byte_chunks(path, settings.encoding):
        try:
            text = piece.decode(decode)
        except UnicodeDecodeError as e:
            line = first_line + line_of(piece, e.start) - 1
            raise undecodable_error(line, settings.encoding) from None
        ending = "\n" if crs == 0 else "\r\n" if crs == lfs == crlfs else ""
        if ending and not leftover:
            lines = text.split(ending)
            terminated = lines[-1] == ""
            if terminated:
                lines.pop()
            runs, mixed, open_at = (
                _read_quoted(lines, ending, delimiter, first_line)
                if '"' in text
                else ([], None, None)
            )
            if open_at is not None:
                if final:
                    raise unbalanced_error(open_at)
                used = open_at - first_line
                leftover, leftover_line = ending.join(lines[used:]) + ending, open_at
                lines = lines[:used]
            yield _Lines(first_line, lines, ending, terminated, runs, mixed)
            continue
        if leftover:
            text, first_line = leftover + text, leftover_line
        lines = LINE.findall(text)
        run, open_at = csv_records(lines, 0, ending="", delimiter=delimiter, first_line=first_line)
        leftover = ""
        if open_at is not None:
            if final:
                raise unbalanced_error(open_at)
            used = open_at - first_line
            leftover, leftover_line = "".join(lines[used:]), open_at
            lines = lines[:used]
        yield _Lines(first_line, lines, "", True, [run] if run.rows else [])
    if leftover:
        raise unbalanced_error(leftover_line)


# --- Records ---------------------------------------------------------------------------------


class _RecordChecks:
    """What holds across chunks while reading records: the header, the width, the count."""

    def __init__(self, settings: FileSettings, counts: IntakeCounts):
        self.counts = counts
        self.has_header = settings.has_header
        self.delimiter = settings.delimiter
        self.limit = django_settings.CALL_FILE_MAX_ROWS
        self.columns: int | None = None
        self.header_pending = settings.has_header
        self.header_line: int | None = None
        self.count = 0

    def split(self, first_line: int, lines: list) -> Iterator[Record]:
        """Records of lines without quotes (or with them read already: see _Read)."""
        delimiter = self.delimiter
        not_blank = methodcaller("strip", delimiter + BLANK)
        numbers: Sequence[int] = range(first_line, first_line + len(lines))
        if not all(map(not_blank, lines)):
            kept = [(n, line) for n, line in zip(numbers, lines, strict=True) if not_blank(line)]
            self.counts.blank += len(lines) - len(kept)
            numbers, lines = [n for n, _line in kept], [line for _n, line in kept]
        if not lines:
            return iter(())
        if self.columns is None:
            self.columns = lines[0].count(delimiter) + 1
            numbers, lines = self._skip_header(numbers, lines)
        if set(map(methodcaller("count", delimiter), lines)) - {self.columns - 1}:
            for n, line in zip(numbers, lines, strict=True):
                found = line.count(delimiter) + 1
                if found != self.columns:
                    raise ragged_error(n, found, self.columns, self.has_header)
        self._count(numbers)
        return map(_record, zip(numbers, map(methodcaller("split", delimiter), lines), strict=True))

    def rows(self, numbers: Sequence[int], rows: list[list[str]]) -> Iterator[Record]:
        """Records the csv module read, with their first lines."""
        if not all(map(_strip_blank, map("".join, rows))):
            kept = [(n, row) for n, row in zip(numbers, rows, strict=True) if not is_blank(row)]
            self.counts.blank += len(rows) - len(kept)
            numbers, rows = [n for n, _row in kept], [row for _n, row in kept]
        if not rows:
            return iter(())
        if self.columns is None:
            self.columns = len(rows[0])
            numbers, rows = self._skip_header(numbers, rows)
        if set(map(len, rows)) - {self.columns}:
            for n, row in zip(numbers, rows, strict=True):
                if len(row) != self.columns:
                    raise ragged_error(n, len(row), self.columns, self.has_header)
        self._count(numbers)
        return map(_record, zip(numbers, rows, strict=True))

    def _skip_header(self, numbers, items):
        if not self.header_pending:
            return numbers, items
        self.header_pending, self.header_line = False, numbers[0]
        return numbers[1:], items[1:]

    def _count(self, numbers: Sequence[int]) -> None:
        if self.count + len(numbers) > self.limit:
            raise too_many_rows_error(numbers[self.limit - self.count], self.limit)
        self.count += len(numbers)

    def finish(self) -> None:
        if self.count == 0:
            if self.header_line is not None:
                raise header_only_error(self.header_line)
            raise error("empty_file", _("The file is empty: it has no rows with data."))


def delimited_records(path: Path, settings: FileSettings, counts: IntakeCounts) -> Iterator[Record]:
    """The data records of a CSV/TXT file (header and blank lines skipped), streamed."""
    # chain runs in C from one part to the next: Python resumes once per part, not per record.
    return chain.from_iterable(_record_parts(path, settings, counts))


def _record_parts(
    path: Path, settings: FileSettings, counts: IntakeCounts
) -> Iterator[Iterable[Record]]:
    checks = _RecordChecks(settings, counts)
    for chunk in _chunks(path, settings):
        for start, stop, run in chunk.segments():
            first = chunk.first_line + start
            if run is None:
                yield checks.split(first, chunk.mixed or chunk.part(start, stop))
            elif run.spans is None:
                yield checks.rows(range(first, first + len(run.rows)), run.rows)
            else:
                numbers = [chunk.first_line + line for line, _stop in run.spans]
                yield checks.rows(numbers, run.rows)
    checks.finish()


# --- Writing the marked file -----------------------------------------------------------------


def _appended(values: Sequence[str], delimiter: str) -> str:
    """The values as fields to append, quoted only where they hold the delimiter, a quote or a
    line break."""
    return delimiter + delimiter.join(
        f'"{v.replace(chr(34), chr(34) * 2)}"'
        if (delimiter in v or '"' in v or "\n" in v or "\r" in v)
        else v
        for v in values
    )


class _Tails:
    """The appended text per record, in record order; the header's for the first record."""

    def __init__(
        self,
        settings: FileSettings,
        header: Sequence[str],
        marks: Iterator,
        joined: bool,
        leaving_out: bool,
    ):
        self.delimiter = settings.delimiter
        self.header = _appended(header, settings.delimiter) if settings.has_header else None
        self.marks = marks
        self.joined = joined
        # Whether a mark may be None (see intake_write_marked): looked for only then, since
        # looking costs a few per cent of writing.
        self.leaving_out = leaving_out

    def take(self, n: int) -> list[str | None]:
        """The next `n` records' appended text; None for a record to leave out."""
        if self.header is not None and n:
            header, self.header = self.header, None
            return [header, *self.take(n - 1)]
        batch = list(islice(self.marks, n))
        if len(batch) != n:
            raise ValueError("fewer marks than records")
        if self.joined:
            return batch
        delimiter = self.delimiter
        if self.leaving_out and None in batch:
            return [None if values is None else _appended(values, delimiter) for values in batch]
        joined = list(map(delimiter.join, batch))
        blob = "\n".join(joined)
        # Joined in C unless some value needs quotes.
        if (
            '"' not in blob
            and "\r" not in blob
            and blob.count("\n") == n - 1
            and blob.count(delimiter) == sum(map(len, batch)) - n
        ):
            return list(map(delimiter.__add__, joined))
        return [_appended(values, delimiter) for values in batch]


def delimited_write_marked(
    path: Path,
    settings: FileSettings,
    sink: BinaryIO,
    header: Sequence[str],
    marks: Iterator[Sequence[str]] | Iterator[str],
    *,
    joined: bool = False,
    waiting: Callable[[], bool] | None = None,
    leaving_out: bool = False,
) -> None:
    tails = _Tails(settings, header, marks, joined, leaving_out)
    not_blank = methodcaller("strip", settings.delimiter + BLANK)
    encoding = "utf-8" if settings.encoding == "utf-8-sig" else settings.encoding
    if settings.encoding == "utf-8-sig":
        with path.open("rb") as f:
            if f.read(len(BOM)) == BOM:
                sink.write(BOM)
    chunks = _chunks(path, settings)
    if waiting is not None:
        chunks = _read_ahead(chunks, waiting)
    for chunk in chunks:
        out: list[str] = []
        for start, stop, run in chunk.segments():
            if run is not None and run.spans is not None:
                out.extend(_write_records(chunk, run, tails))
                continue
            # One line per record: the line, its appended fields, its ending.
            part = chunk.part(start, stop)
            if run is None:
                keep = list(map(bool, map(not_blank, chunk.mixed or part)))
            else:
                keep = list(map(bool, map(_strip_blank, map("".join, run.rows))))
            out.extend(_write_lines(part, keep, chunk.ending, tails))
            if stop == len(chunk.lines) and not chunk.terminated:
                out[-1] = out[-1].removesuffix(chunk.ending)
        sink.write("".join(out).encode(encoding))


def _read_ahead(chunks: Iterator[_Lines], waiting: Callable[[], bool]) -> Iterator[_Lines]:
    """The chunks, the first of them read while `waiting()` (up to _READ_AHEAD_CHUNKS)."""
    ahead: deque[_Lines] = deque()
    while len(ahead) < _READ_AHEAD_CHUNKS and waiting():
        chunk = next(chunks, None)
        if chunk is None:
            break
        ahead.append(chunk)
    while ahead:
        yield ahead.popleft()
    yield from chunks


def _write_lines(part: list[str], keep: list[bool], ending: str, tails: _Tails) -> Iterator[str]:
    """Lines of one record each (`keep`: not blank): each with its tail and ending; a record
    whose tail is None is left out, line and ending."""
    if all(keep):
        for index in range(0, len(part), _MARK_BATCH):
            batch = part[index : index + _MARK_BATCH]
            appended = tails.take(len(batch))
            if tails.leaving_out and None in appended:
                # An empty string, not nothing: the caller trims the ending of the file's last
                # line, which must not be the ending of the line before a line left out.
                yield from (
                    "" if tail is None else line + tail + ending
                    for line, tail in zip(batch, appended, strict=True)
                )
                continue
            yield ending.join(map(operator.add, batch, appended))
            yield ending
        return
    appended = iter(tails.take(sum(keep)))
    for line, marked in zip(part, keep, strict=True):
        if not marked:
            yield line + ending
        elif (tail := next(appended)) is not None:
            yield line + tail + ending
        else:
            yield ""


def _write_records(chunk: _Lines, run: _Run, tails: _Tails) -> Iterator[str]:
    """Records over several lines (or lines with their own endings): the tail goes before the
    record's last line ending; a record whose tail is None is left out, with its endings."""
    keep = [not is_blank(row) for row in run.rows]
    appended = iter(tails.take(sum(keep)))
    for (start, stop), marked in zip(run.spans, keep, strict=True):
        tail = next(appended) if marked else ""
        if tail is None:
            continue
        if chunk.ending:
            body = chunk.ending.join(chunk.lines[start:stop])
            last = stop == len(chunk.lines) and not chunk.terminated
            end = "" if last else chunk.ending
        else:
            raw = "".join(chunk.lines[start:stop])
            body = raw.rstrip("\r\n")
            end = raw[len(body) :]
        yield body + tail + end
