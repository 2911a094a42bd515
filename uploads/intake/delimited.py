"""CSV/TXT call files: records streamed, and the file written back with columns appended.

The file is read in chunks of bytes that end at a line break. A chunk without a quote character
and with one kind of line ending is split with `str.split` (the fast path: what nearly every
export looks like); any other chunk goes through the csv module line by line, so quoted
delimiters and line breaks are honoured. All supported encodings are ASCII-compatible, so the
delimiter, the quote and the line breaks are the same single bytes whatever the encoding.
"""

import csv
import operator
from collections.abc import Iterable, Iterator, Sequence
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


def parse_lines(
    lines: list[str], delimiter: str, first_line: int
) -> tuple[list[tuple[int, int, list[str]]], int | None]:
    """Records of `lines` (whole physical lines with their endings) as (index of the first line,
    index after the last, fields), via the csv module; and the number of the line where a record
    left open by the end of the lines starts (else None)."""
    reader = csv.reader(chain(lines, (_SENTINEL,)), delimiter=delimiter)
    parsed: list[tuple[int, int, list[str]]] = []
    start, end = 0, len(lines)
    try:
        while start < end:
            fields = next(reader)
            if reader.line_num > end:
                return parsed, first_line + start
            parsed.append((start, reader.line_num, fields))
            start = reader.line_num
    except csv.Error:
        # Only "field larger than field limit" is left with these lines: a quote never closed.
        raise unbalanced_error(first_line + start) from None
    return parsed, None


def _parse_quoted_lines(
    lines: list[str], ending: str, delimiter: str, first_line: int
) -> tuple[list[tuple[int, int, list[str]]], int | None]:
    """Like parse_lines for lines without their (common) ending, but only from each line with a
    quote on, for as many lines as its record takes; the other lines are left to str.split."""
    quoted = list(map(methodcaller("__contains__", '"'), lines))
    parsed: list[tuple[int, int, list[str]]] = []
    end = len(lines)
    start = 0
    for first in compress(range(end), quoted):
        if first < start:
            continue  # inside a record read already
        # map over a range starts at `first` at once, where islice would step through the list.
        following = map(lines.__getitem__, range(first, end))
        source = chain(map(operator.add, following, repeat(ending)), (_SENTINEL,))
        reader = csv.reader(source, delimiter=delimiter)
        start = first
        try:
            # The same reader goes on while the next line has a quote too.
            while start < end and quoted[start]:
                fields = next(reader)
                stop = first + reader.line_num
                if stop > end:
                    return parsed, first_line + start
                parsed.append((start, stop, fields))
                start = stop
        except csv.Error:
            raise unbalanced_error(first_line + start) from None
    return parsed, None


class _Lines(NamedTuple):
    """A chunk of physical lines. With one kind of line ending (nearly every file) the lines are
    without it and `parsed` holds only the records of lines with a quote; the lines between are
    split with str.split. Otherwise `ending` is "", the lines keep their endings and `parsed`
    holds every record."""

    first_line: int
    lines: list[str]
    ending: str
    terminated: bool  # whether the last line has its ending (only the file's last may not)
    parsed: list[tuple[int, int, list[str]]]  # (index of first line, index after last, fields)


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
            parsed, open_at = (
                _parse_quoted_lines(lines, ending, delimiter, first_line)
                if '"' in text
                else ([], None)
            )
            if open_at is not None:
                if final:
                    raise unbalanced_error(open_at)
                used = open_at - first_line
                leftover = ending.join(lines[used:]) + ending
                leftover_line = open_at
                lines = lines[:used]
            yield _Lines(first_line, lines, ending, terminated, parsed)
            continue
        if leftover:
            text, first_line = leftover + text, leftover_line
        lines = LINE.findall(text)
        parsed, open_at = parse_lines(lines, delimiter, first_line)
        leftover = ""
        if open_at is not None:
            if final:
                raise unbalanced_error(open_at)
            used = open_at - first_line
            leftover, leftover_line = "".join(lines[used:]), open_at
            lines = lines[:used]
        yield _Lines(first_line, lines, "", True, parsed)
    if leftover:
        raise unbalanced_error(leftover_line)


def _segments(chunk: _Lines) -> Iterator[tuple[int, int, list[tuple[int, int, list[str]]]]]:
    """The chunk as (start, stop, parsed): lines[start:stop] to split with str.split (when
    parsed is empty), or a run of adjacent records read by the csv module."""
    position = 0
    run: list[tuple[int, int, list[str]]] = []
    for record in chunk.parsed:
        if record[0] > position:
            if run:
                yield run[0][0], position, run
                run = []
            yield position, record[0], []
        run.append(record)
        position = record[1]
    if run:
        yield run[0][0], position, run
    if position < len(chunk.lines):
        yield position, len(chunk.lines), []


# Builds a Record from a (line, fields) pair in C, without the Python-level __new__.
_record = partial(tuple.__new__, Record)


class _RecordChecks:
    """What holds across chunks while reading records: the header, the width, the count."""

    def __init__(self, settings: FileSettings):
        self.settings = settings
        self.delimiter = settings.delimiter
        self.limit = django_settings.CALL_FILE_MAX_ROWS
        self.columns: int | None = None
        self.header_pending = settings.has_header
        self.header_line: int | None = None
        self.count = 0

    def split(self, first_line: int, lines: list[str]) -> Iterator[Record]:
        """Records of lines without quotes: checked in C with map(), each Record made only when
        the consumer asks for it. (A list of a chunk's records would outlive the young garbage
        collections and make Python's full collections, of the whole Django heap, frequent.)"""
        delimiter = self.delimiter
        blank_strip = methodcaller("strip", delimiter + BLANK)
        numbers: Sequence[int] = range(first_line, first_line + len(lines))
        if not all(map(blank_strip, lines)):
            kept = [(n, line) for n, line in zip(numbers, lines, strict=True) if blank_strip(line)]
            numbers, lines = [n for n, _line in kept], [line for _n, line in kept]
        if not lines:
            return iter(())
        if self.columns is None:
            self.columns = lines[0].count(delimiter) + 1
            if self.header_pending:
                self.header_pending, self.header_line = False, numbers[0]
                numbers, lines = numbers[1:], lines[1:]
        if set(map(methodcaller("count", delimiter), lines)) - {self.columns - 1}:
            for n, line in zip(numbers, lines, strict=True):
                if line.count(delimiter) != self.columns - 1:
                    raise ragged_error(
                        n, line.count(delimiter) + 1, self.columns, self.settings.has_header
                    )
        self._count(len(lines), numbers)
        return map(_record, zip(numbers, map(methodcaller("split", delimiter), lines), strict=True))

    def parsed(self, records: list[Record]) -> list[Record]:
        """Records the csv module read, blank ones left out already."""
        if records and self.columns is None:
            self.columns = len(records[0].fields)
            if self.header_pending:
                self.header_pending, self.header_line = False, records[0].line
                records = records[1:]
        for record in records:
            if len(record.fields) != self.columns:
                found = len(record.fields)
                raise ragged_error(record.line, found, self.columns, self.settings.has_header)
        self._count(len(records), [record.line for record in records])
        return records

    def _count(self, more: int, numbers: Sequence[int]) -> None:
        if self.count + more > self.limit:
            raise too_many_rows_error(numbers[self.limit - self.count], self.limit)
        self.count += more

    def finish(self) -> None:
        if self.count == 0:
            if self.header_line is not None:
                raise header_only_error(self.header_line)
            raise error("empty_file", _("The file is empty: it has no rows with data."))


def delimited_records(path: Path, settings: FileSettings) -> Iterator[Record]:
    """The data records of a CSV/TXT file (header and blank lines skipped), streamed."""
    # chain runs in C from one part to the next: Python resumes only once per part, not once
    # per record.
    return chain.from_iterable(_record_parts(path, settings))


def _record_parts(path: Path, settings: FileSettings) -> Iterator[Iterable[Record]]:
    checks = _RecordChecks(settings)
    for chunk in _chunks(path, settings):
        for start, stop, run in _segments(chunk):
            if not run:
                lines = (
                    chunk.lines
                    if start == 0 and stop == len(chunk.lines)
                    else chunk.lines[start:stop]
                )
                yield checks.split(chunk.first_line + start, lines)
            else:
                yield checks.parsed(
                    [
                        _record((chunk.first_line + first, fields))
                        for first, _stop, fields in run
                        if not is_blank(fields)
                    ]
                )
    checks.finish()


def _appended(values: Sequence[str], delimiter: str) -> str:
    """The values as fields to append, quoted only where they hold the delimiter, a quote or a
    line break."""
    return delimiter + delimiter.join(
        f'"{v.replace(chr(34), chr(34) * 2)}"'
        if (delimiter in v or '"' in v or "\n" in v or "\r" in v)
        else v
        for v in values
    )


def _tails(batch: list[Sequence[str]], delimiter: str) -> Iterable[str]:
    """The appended text of each record of a batch, joined in C unless a value needs quotes."""
    joined = list(map(delimiter.join, batch))
    blob = "\n".join(joined)
    plain = (
        '"' not in blob
        and "\r" not in blob
        and blob.count("\n") == len(batch) - 1
        and blob.count(delimiter) == sum(map(len, batch)) - len(batch)
    )
    if plain:
        return map(delimiter.__add__, joined)
    return [_appended(values, delimiter) for values in batch]


# Marks taken at a time: a chunk's worth held at once would outlive the young garbage
# collections (see _RecordChecks.split).
_MARK_BATCH = 512


class _Marks:
    """The appended text per record, in record order; the header's for the first record."""

    def __init__(self, settings: FileSettings, header: Sequence[str], marks: Iterator):
        self.delimiter = settings.delimiter
        self.header = _appended(header, settings.delimiter) if settings.has_header else None
        self.marks = marks

    def take(self, n: int) -> Iterator[str]:
        if self.header is not None and n:
            header, self.header = self.header, None
            return chain((header,), self.take(n - 1))
        batch = list(islice(self.marks, n))
        if len(batch) != n:
            raise ValueError("fewer marks than records")
        return iter(_tails(batch, self.delimiter))


def delimited_write_marked(
    path: Path,
    settings: FileSettings,
    sink: BinaryIO,
    header: Sequence[str],
    marks: Iterator[Sequence[str]],
) -> None:
    tails = _Marks(settings, header, marks)
    blank_strip = methodcaller("strip", settings.delimiter + BLANK)
    encoding = "utf-8" if settings.encoding == "utf-8-sig" else settings.encoding
    if settings.encoding == "utf-8-sig":
        with path.open("rb") as f:
            if f.read(len(BOM)) == BOM:
                sink.write(BOM)
    for chunk in _chunks(path, settings):
        out: list[str] = []
        ending, lines = chunk.ending, chunk.lines
        for start, stop, run in _segments(chunk):
            last = stop == len(lines) and not chunk.terminated
            if run:
                keep = [not is_blank(fields) for _first, _stop, fields in run]
                appended = tails.take(sum(keep))
                for (first, after, _fields), marked in zip(run, keep, strict=True):
                    body, end = _record_text(chunk, first, after)
                    out.append(body + next(appended) + end if marked else body + end)
                continue
            part = lines if start == 0 and stop == len(lines) else lines[start:stop]
            if all(map(blank_strip, part)):
                for index in range(0, len(part), _MARK_BATCH):
                    batch = part[index : index + _MARK_BATCH]
                    out.append(ending.join(map(operator.add, batch, tails.take(len(batch)))))
                    out.append(ending)
            else:
                keep = list(map(bool, map(blank_strip, part)))
                appended = tails.take(sum(keep))
                out.extend(
                    line + next(appended) + ending if marked else line + ending
                    for line, marked in zip(part, keep, strict=True)
                )
            if last:
                out[-1] = out[-1][: -len(ending)]
        sink.write("".join(out).encode(encoding))


def _record_text(chunk: _Lines, first: int, after: int) -> tuple[str, str]:
    """A record the csv module read: its text and its line ending."""
    if chunk.ending:
        body = chunk.ending.join(chunk.lines[first:after])
        last = after == len(chunk.lines) and not chunk.terminated
        return body, "" if last else chunk.ending
    body = "".join(chunk.lines[first:after])
    content = body.rstrip("\r\n")
    return content, body[len(content) :]
