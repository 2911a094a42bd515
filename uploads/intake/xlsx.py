"""XLSX call files: the first sheet read with calamine, written back with XlsxWriter."""

import datetime
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import xlsxwriter
from django.conf import settings as django_settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

from .base import (
    BLANK,
    NO_MARK,
    FileSettings,
    IntakeCounts,
    IntakeError,
    Record,
    error,
    header_only_error,
    is_blank,
    too_many_rows_error,
)

# calamine holds the whole first sheet in memory (about 90 bytes a cell, measured), so a sheet
# is read only up to this many cells: about 180 MB, within a worker's 300 MB.
MAX_XLSX_CELLS = 2_000_000
# calamine holds the shared strings whole as well; their XML is read only up to this size.
MAX_SHARED_STRINGS_XML = 128 * 1024 * 1024
# A cell element, namespaced or not: <c r="A1" t="s">, <c/>, <x:c>; not <col>, <cfRule>.
_CELL = re.compile(rb"<(?:\w+:)?c[\s/>]")
_LONGEST_CELL_TAG = 64
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b")
_CHUNK = 1 << 20


def _unreadable(problem: str) -> IntakeError:
    return error(
        "unreadable_xlsx",
        _("The Excel file cannot be read (%(problem)s). Save it again as .xlsx or as CSV.")
        % {"problem": problem},
    )


def xlsx_sheet(path: Path) -> tuple[int, Iterator[tuple[int, list]]]:
    """The first sheet: the column its cells start at (0-based) and its rows with their sheet
    row numbers, as calamine reads the values."""
    _check_cells(path)
    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except (CalamineError, OSError, ValueError) as e:
        raise _unreadable(type(e).__name__) from None
    # iter_rows starts at the sheet's first row but at the first used column (calamine 0.9).
    return (sheet.start or (0, 0))[1], enumerate(rows, 1)


@contextmanager
def xlsx_first_rows(path: Path, rows: int) -> Iterator[Path]:
    """A temporary copy of the workbook whose first sheet ends after its first `rows` rows: what
    a web request reads to detect a file's settings, so that it never loads a whole sheet. The
    workbook is refused first, as the worker would refuse it, when its sheet is over the cap."""
    _check_cells(path)
    with tempfile.TemporaryDirectory() as scratch:
        head = Path(scratch) / "head.xlsx"
        try:
            with (
                zipfile.ZipFile(path) as source,
                zipfile.ZipFile(head, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
            ):
                part = _first_sheet_part(source)
                for info in source.infolist():
                    with (
                        source.open(info) as member,
                        target.open(info.filename, "w", force_zip64=True) as copy,
                    ):
                        if info.filename == part:
                            _copy_first_rows(member, copy, rows)
                        else:
                            shutil.copyfileobj(member, copy, _CHUNK)
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, zlib.error) as e:
            raise _unreadable(type(e).__name__) from None
        yield head


def _copy_first_rows(sheet_xml: BinaryIO, copy: BinaryIO, rows: int) -> None:
    """Copies the sheet's XML up to the end of its `rows`-th row and closes it there."""
    prefix = None
    seen = 0
    tail = b""
    while block := sheet_xml.read(_CHUNK):
        text = tail + block
        if prefix is None and (found := _SHEET_DATA.search(text)):
            prefix = found.group(1) or b""
        # An end tag may be cut off at the block's end only after its last "<".
        cut = text.rfind(b"<")
        if cut < 0 or len(text) - cut > _LONGEST_CELL_TAG:
            cut = len(text)
        for end in _ROW_END.finditer(text, 0, cut):
            seen += 1
            if seen == rows:
                closing = prefix or b""
                copy.write(text[: end.end()] + b"</%ssheetData></%sworksheet>" % (closing, closing))
                return
        copy.write(text[:cut])
        tail = text[cut:]
    copy.write(tail)


def _check_cells(path: Path) -> None:
    """Refuses a first sheet with more than MAX_XLSX_CELLS cells before calamine loads it.

    The cells are counted in the sheet's XML as it is decompressed, and counting stops at the
    limit: a sheet's `<dimension>` and the zip's sizes are the uploader's word and may lie (a
    2 MB file can declare A1:B2 and hold twelve million rows).
    """
    try:
        with zipfile.ZipFile(path) as workbook:
            part = _first_sheet_part(workbook)
            if part is None or part not in workbook.namelist():
                return  # calamine finds no sheet either and says the file cannot be read
            with workbook.open(part) as sheet_xml:
                cells = _count_cells(sheet_xml, stop_after=MAX_XLSX_CELLS)
            strings_too_large = False
            if cells <= MAX_XLSX_CELLS and "xl/sharedStrings.xml" in workbook.namelist():
                with workbook.open("xl/sharedStrings.xml") as strings_xml:
                    strings_too_large = _longer_than(strings_xml, MAX_SHARED_STRINGS_XML)
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, zlib.error) as e:
        raise _unreadable(type(e).__name__) from None
    if cells > MAX_XLSX_CELLS or strings_too_large:
        raise IntakeError(
            _(
                "The workbook's first sheet has more than %(limit)s cells, the most an Excel "
                "file may have here. Save it as CSV UTF-8 and upload that."
            )
            % {"limit": number_format(MAX_XLSX_CELLS, force_grouping=True)},
            code="too_large",
        )


def _count_cells(xml: BinaryIO, *, stop_after: int) -> int:
    """Cell elements in `xml`, counted a block at a time up to the first past `stop_after`."""
    cells = 0
    tail = b""
    while cells <= stop_after:
        block = xml.read(_CHUNK)
        if not block:
            return cells + len(_CELL.findall(tail))
        text = tail + block
        # A cell tag holds one "<", its first byte: every match before the last "<" is whole,
        # and one that starts there needs no more than its first bytes.
        cut = text.rfind(b"<")
        if cut < 0:
            tail = b""
            continue
        cells += len(_CELL.findall(text, 0, cut))
        tail = text[cut : cut + _LONGEST_CELL_TAG]
    return cells


def _longer_than(stream: BinaryIO, limit: int) -> bool:
    read = 0
    while block := stream.read(_CHUNK):
        read += len(block)
        if read > limit:
            return True
    return False


def _first_sheet_part(workbook: zipfile.ZipFile) -> str | None:
    """The zip entry of the workbook's first sheet, from workbook.xml and its relationships (read
    with regular expressions: no XML parser meets the upload); None where they do not say."""
    with workbook.open("xl/workbook.xml") as f:
        sheets = f.read(1 << 20)
    first = re.search(rb'<(?:\w+:)?sheet\b[^>]*?\b\w+:id="([^"]+)"', sheets)
    if first is None or "xl/_rels/workbook.xml.rels" not in workbook.namelist():
        return None
    with workbook.open("xl/_rels/workbook.xml.rels") as f:
        relationships = f.read(1 << 20)
    for relationship in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", relationships):
        if re.search(rb'\bId="' + re.escape(first.group(1)) + rb'"', relationship):
            target = re.search(rb'\bTarget="([^"]+)"', relationship)
            if target:
                name = target.group(1).decode(errors="replace")
                return name.lstrip("/") if name.startswith("/") else f"xl/{name}"
    return None


def cell_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    return str(value)


def xlsx_texts(path: Path) -> Iterator[tuple[int, list[str]]]:
    _offset, rows = xlsx_sheet(path)
    for line, row in rows:
        yield line, [cell_text(value) for value in row]


def xlsx_records(path: Path, settings: FileSettings, counts: IntakeCounts) -> Iterator[Record]:
    limit = django_settings.CALL_FILE_MAX_ROWS
    header_pending = settings.has_header
    header_line = None
    count = 0
    for line, fields in xlsx_texts(path):
        if is_blank(fields):
            counts.blank += 1
            continue
        if header_pending:
            header_pending, header_line = False, line
            continue
        count += 1
        if count > limit:
            raise too_many_rows_error(line, limit)
        yield Record(line, fields)
    if count == 0:
        if header_line is not None:
            raise header_only_error(header_line)
        raise error("empty_file", _("The workbook's first sheet is empty."))


def xlsx_write_marked(
    path: Path,
    settings: FileSettings,
    sink: BinaryIO,
    header: Sequence[str],
    marks: Iterator[Sequence[str] | None],
) -> None:
    """The first sheet's values again with `header`'s columns appended; a record whose mark is
    None is left out and the rows below it move up, as if it had never been there."""
    workbook = xlsxwriter.Workbook(sink, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    header_pending = settings.has_header
    offset, rows = xlsx_sheet(path)
    left_out = 0
    for line, row in rows:
        appended = ()
        if any(cell_text(value).strip(BLANK) for value in row):
            if header_pending:
                header_pending = False
                appended = header
            else:
                appended = next(marks, NO_MARK)
                if appended is NO_MARK:
                    raise ValueError("fewer marks than records")
                if appended is None:
                    left_out += 1
                    continue
        row_index = line - 1 - left_out
        for column, value in enumerate(row, offset):
            _xlsx_write_cell(sheet, row_index, column, value, date_format, datetime_format)
        for index, value in enumerate(appended):
            if value:  # an empty cell is no cell
                sheet.write_string(row_index, offset + len(row) + index, value)
    workbook.close()


def _xlsx_write_cell(sheet, row: int, column: int, value, date_format, datetime_format) -> None:
    # Typed writes: a text cell is written as text, never read as a formula.
    if isinstance(value, str):
        if value:
            sheet.write_string(row, column, value)
    elif isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, column, value)
    elif isinstance(value, datetime.datetime):
        sheet.write_datetime(row, column, value, datetime_format)
    elif isinstance(value, datetime.date):
        sheet.write_datetime(row, column, value, date_format)
    else:
        sheet.write_string(row, column, cell_text(value))
