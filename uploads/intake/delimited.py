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
from itertools import islice
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


def parse_lines(
    lines: list[str], delimiter: str, first_line: int
) -> tuple[list[tuple[int, int, list[str]]], int | None]:
    """Records of `lines` as (first line, index after the last line used, fields), via the csv
    module; and where a record that the lines end inside an open quote starts (else None).

    The lines are whole physical lines with their endings, so the csv module sees a line break
    only at the end of a line it is given."""
    exhausted = False

    def feed() -> Iterator[str]:
        nonlocal exhausted
        yield from lines
        exhausted = True

    reader = csv.reader(feed(), delimiter=delimiter)
    spans: list[tuple[int, int, list[str]]] = []
    start = 0
    try:
        for fields in reader:
            if exhausted:
                # The csv module hands back an open quoted field when its input ends.
                return spans, first_line + start
            end = reader.line_num
            spans.append((first_line + start, end, fields))
            start = end
    except csv.Error:
        # Only "field larger than field limit" is left with these lines: a quote never closed.
        raise unbalanced_error(first_line + start) from None
    return spans, None


class _Plain(NamedTuple):
    """A chunk without quotes, all its lines ending alike: split with str.split."""

    first_line: int
    lines: list[str]  # without their endings
    ending: str  # "\n" or "\r\n"
    terminated: bool  # whether the last line has its ending (only the file's last may not)


class _Quoted(NamedTuple):
    """A chunk read with the csv module."""

    lines: list[str]  # with their endings
    spans: list[tuple[int, int, list[str]]]  # (first line, index after its last line, fields)


def _byte_chunks(path: Path, encoding: str) -> Iterator[tuple[int, bytes, bool]]:
    """The file (without a UTF-8 BOM) in pieces that end at a line break (the last one perhaps
    not), with the number of the first line; NUL bytes refused."""
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
            yield first_line, piece, final
            if final:
                return
            # Lone CRs are line breaks too; CRLF counts once.
            first_line += piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")


def _delimited_chunks(path: Path, settings: FileSettings) -> Iterator[_Plain | _Quoted]:
    """The file decoded and split, chunk by chunk. A record a quoted chunk leaves open is carried
    into the next chunk."""
    decode = "utf-8" if settings.encoding == "utf-8-sig" else settings.encoding
    leftover, leftover_line = "", 0
    for first_line, piece, final in _byte_chunks(path, settings.encoding):
        try:
            text = piece.decode(decode)
        except UnicodeDecodeError as e:
            line = first_line + line_of(piece, e.start) - 1
            raise undecodable_error(line, settings.encoding) from None
        if not leftover and b'"' not in piece:
            crs, lfs = piece.count(b"\r"), piece.count(b"\n")
            ending = "\n" if crs == 0 else "\r\n" if crs == lfs == piece.count(b"\r\n") else None
            if ending is not None:
                lines = text.split(ending)
                terminated = lines[-1] == ""
                if terminated:
                    lines.pop()
                yield _Plain(first_line, lines, ending, terminated)
                continue
        if leftover:
            text, first_line = leftover + text, leftover_line
        lines = LINE.findall(text)
        spans, open_at = parse_lines(lines, settings.delimiter, first_line)
        leftover = ""
        if open_at is not None:
            if final:
                raise unbalanced_error(open_at)
            used = spans[-1][1] if spans else 0
            leftover, leftover_line = "".join(lines[used:]), open_at
            lines = lines[:used]
        yield _Quoted(lines, spans)
    if leftover:
        raise unbalanced_error(leftover_line)


# Builds a Record from a (line, fields) pair in C, without the Python-level __new__.
_record = partial(tuple.__new__, Record)


def delimited_records(path: Path, settings: FileSettings) -> Iterator[Record]:
    """The data records of a CSV/TXT file (header and blank lines skipped), streamed."""
    limit = django_settings.CALL_FILE_MAX_ROWS
    delimiter = settings.delimiter
    split = methodcaller("split", delimiter)
    blank_strip = methodcaller("strip", delimiter + BLANK)
    count_delimiters = methodcaller("count", delimiter)
    columns: int | None = None
    header_pending = settings.has_header
    header_line = None
    count = 0
    for chunk in _delimited_chunks(path, settings):
        # The fast path checks whole chunks with map() in C and makes each Record only when the
        # consumer asks for it: a list of a chunk's records would outlive the young garbage
        # collections and make Python's full collections (of the whole Django heap) frequent.
        if isinstance(chunk, _Plain):
            lines: Sequence[str] = chunk.lines
            numbers: Sequence[int] = range(chunk.first_line, chunk.first_line + len(lines))
            if not all(map(blank_strip, lines)):
                kept = [
                    (n, line) for n, line in zip(numbers, lines, strict=True) if blank_strip(line)
                ]
                numbers, lines = [n for n, _line in kept], [line for _n, line in kept]
            if not lines:
                continue
            if columns is None:
                columns = lines[0].count(delimiter) + 1
                if header_pending:
                    header_pending, header_line = False, numbers[0]
                    numbers, lines = numbers[1:], lines[1:]
            if set(map(count_delimiters, lines)) - {columns - 1}:
                for n, line in zip(numbers, lines, strict=True):
                    if line.count(delimiter) != columns - 1:
                        found = line.count(delimiter) + 1
                        raise ragged_error(n, found, columns, settings.has_header)
            if count + len(lines) > limit:
                raise too_many_rows_error(numbers[limit - count], limit)
            count += len(lines)
            yield from map(_record, zip(numbers, map(split, lines), strict=True))
            continue
        records = [
            _record((line, fields)) for line, _end, fields in chunk.spans if not is_blank(fields)
        ]
        if not records:
            continue
        if columns is None:
            columns = len(records[0].fields)
            if header_pending:
                header_pending, header_line = False, records[0].line
                records = records[1:]
        for record in records:
            if len(record.fields) != columns:
                raise ragged_error(record.line, len(record.fields), columns, settings.has_header)
        if count + len(records) > limit:
            raise too_many_rows_error(records[limit - count].line, limit)
        count += len(records)
        yield from records
    if count == 0:
        if header_line is not None:
            raise header_only_error(header_line)
        raise error("empty_file", _("The file is empty: it has no rows with data."))


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
        return map((delimiter).__add__, joined)
    return [_appended(values, delimiter) for values in batch]


def _batches(n: int, size: int = 512) -> Iterator[slice]:
    return (slice(start, start + size) for start in range(0, n, size))


def delimited_write_marked(
    path: Path,
    settings: FileSettings,
    sink: BinaryIO,
    header: Sequence[str],
    marks: Iterator[Sequence[str]],
) -> None:
    delimiter = settings.delimiter
    blank_strip = methodcaller("strip", delimiter + BLANK)
    encoding = "utf-8" if settings.encoding == "utf-8-sig" else settings.encoding
    header_pending = settings.has_header

    def take(n: int) -> Iterable[str]:
        batch = list(islice(marks, n))
        if len(batch) != n:
            raise ValueError("fewer marks than records")
        return _tails(batch, delimiter)

    if settings.encoding == "utf-8-sig":
        with path.open("rb") as f:
            if f.read(len(BOM)) == BOM:
                sink.write(BOM)
    for chunk in _delimited_chunks(path, settings):
        if isinstance(chunk, _Quoted):
            keep = [not is_blank(fields) for _line, _end, fields in chunk.spans]
            bodies = []
            start = 0
            for _line, end, _fields in chunk.spans:
                record = "".join(chunk.lines[start:end])
                start = end
                body = record.rstrip("\r\n")
                bodies.append((body, record[len(body) :]))
        else:
            keep = list(map(bool, map(blank_strip, chunk.lines)))
            bodies = None
        if header_pending and any(keep):
            first = keep.index(True)
            keep[first] = False
            header_pending = False
            header_at = first
        else:
            header_at = None
        if bodies is None and header_at is None and all(keep):
            ending = chunk.ending
            # Small batches: a chunk's worth of marks held at once would outlive the young
            # garbage collections (see intake_records).
            text = ending.join(
                ending.join(map(operator.add, part, take(len(part))))
                for part in map(chunk.lines.__getitem__, _batches(len(chunk.lines)))
            )
            if chunk.terminated:
                text += ending
        else:
            tails = iter(take(sum(keep)))
            if bodies is None:
                ending = chunk.ending
                bodies = [(line, ending) for line in chunk.lines]
                if not chunk.terminated:
                    bodies[-1] = (chunk.lines[-1], "")
            out = []
            for index, (body, end) in enumerate(bodies):
                if index == header_at:
                    out.append(body + _appended(header, delimiter) + end)
                elif keep[index]:
                    out.append(body + next(tails) + end)
                else:
                    out.append(body + end)
            text = "".join(out)
        sink.write(text.encode(encoding))
