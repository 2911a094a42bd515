"""Reading call files (SPEC §8.1, §8.2, §8.8): detect the settings, stream the records, write the
file back with columns appended. A utility that knows files, not what a scrub is."""

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .base import (
    DELIMITERS,
    ENCODINGS,
    NO_MARK,
    Detected,
    FileSettings,
    IntakeCounts,
    IntakeError,
    Record,
)
from .delimited import delimited_records, delimited_write_marked
from .detect import PREVIEW_RECORDS, intake_detect
from .xlsx import xlsx_records, xlsx_write_marked

__all__ = [
    "DELIMITERS",
    "ENCODINGS",
    "PREVIEW_RECORDS",
    "Detected",
    "FileSettings",
    "IntakeCounts",
    "IntakeError",
    "Record",
    "intake_detect",
    "intake_records",
    "intake_write_marked",
]


def intake_records(
    path: Path, settings: FileSettings, counts: IntakeCounts | None = None
) -> Iterator[Record]:
    """The data records in file order (header and blank lines skipped), streamed; IntakeError
    with the line for what makes the file unreadable (SPEC §8.8). `counts`, when given, counts
    the blank lines as they are passed over."""
    counts = IntakeCounts() if counts is None else counts
    if settings.kind == "xlsx":
        return xlsx_records(path, settings, counts)
    return delimited_records(path, settings, counts)


def intake_write_marked(
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
    """The file again with the columns `header` appended, one `marks` item per data record in
    record order (the header row gets the names). CSV/TXT: byte for byte as it was (delimiter,
    quoting, line endings, encoding, BOM, blank lines), the appended fields before each record's
    line ending. XLSX: a new workbook with the first sheet's values. ValueError when `marks` has
    fewer or more items than there are records: a bug, not bad input.

    `joined` (CSV/TXT only): each item is the text appended to its record as it is, every
    value preceded by the file's delimiter, none needing quotes; the caller vouches for that,
    and saves splitting and joining each record's values.

    `waiting` (CSV/TXT): while it says the marks are still being made, the file is read ahead
    (a few megabytes at most), so that reading it overlaps their making.

    `leaving_out`: a mark may be None, which leaves its record out of the marked file, as if
    the file had been uploaded without it (CSV/TXT: its lines and their endings; XLSX: its row,
    the rows below moving up). Every other byte is as without it."""
    marks = iter(marks)
    if settings.kind == "xlsx":
        if joined:
            raise ValueError("a workbook takes each record's values, not joined text")
        xlsx_write_marked(path, settings, sink, header, marks)
    else:
        delimited_write_marked(
            path,
            settings,
            sink,
            header,
            marks,
            joined=joined,
            waiting=waiting,
            leaving_out=leaving_out,
        )
    if next(marks, NO_MARK) is not NO_MARK:
        raise ValueError("more marks than records")
