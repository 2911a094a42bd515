"""XLSX call files: the first sheet read with calamine, written back with XlsxWriter."""

import datetime
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import xlsxwriter
from django.conf import settings as django_settings
from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

from .base import (
    BLANK,
    FileSettings,
    Record,
    error,
    header_only_error,
    is_blank,
    too_many_rows_error,
)


def xlsx_sheet(path: Path) -> tuple[int, Iterator[tuple[int, list]]]:
    """The first sheet: the column its cells start at (0-based) and its rows with their sheet
    row numbers, as calamine reads the values."""
    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except (CalamineError, OSError, ValueError) as e:
        raise error(
            "unreadable_xlsx",
            _("The Excel file cannot be read (%(problem)s). Save it again as .xlsx or as CSV.")
            % {"problem": type(e).__name__},
        ) from None
    # iter_rows starts at the sheet's first row but at the first used column (calamine 0.9).
    return sheet.start[1], enumerate(rows, 1)


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


def xlsx_records(path: Path, settings: FileSettings) -> Iterator[Record]:
    limit = django_settings.CALL_FILE_MAX_ROWS
    header_pending = settings.has_header
    header_line = None
    count = 0
    for line, fields in xlsx_texts(path):
        if is_blank(fields):
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
    marks: Iterator[Sequence[str]],
) -> None:
    workbook = xlsxwriter.Workbook(sink, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    header_pending = settings.has_header
    offset, rows = xlsx_sheet(path)
    for line, row in rows:
        row_index = line - 1
        for column, value in enumerate(row, offset):
            _xlsx_write_cell(sheet, row_index, column, value, date_format, datetime_format)
        if all(cell_text(value).strip(BLANK) == "" for value in row):
            continue
        if header_pending:
            header_pending = False
            appended = header
        else:
            appended = next(marks, None)
            if appended is None:
                raise ValueError("fewer marks than records")
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
