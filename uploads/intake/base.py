"""What every part of the intake shares: the settings and record types, the error and its
messages (in one place so the wording stays consistent), and the line rules."""

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from register.errors import DomainError

ENCODINGS = ("utf-8-sig", "utf-8", "cp1252", "latin-1")
DELIMITERS = (";", ",", "|", "\t")
BOM = codecs.BOM_UTF8
# A line holding only delimiters, spaces and tabs is blank: not a record, not charged (SPEC §8.6).
BLANK = " \t"
# One physical line with its ending; lone CR counts as a line break, as the csv module does.
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
LINE_BREAKS = re.compile(rb"\r\n|\r|\n")
# What `next` answers when the marks to write are all taken: None is a mark (a record left out).
NO_MARK = object()


class IntakeError(DomainError):
    """A call file that cannot be read as it is (SPEC §8.8), or an impossible setting for it: the
    message names the line where there is one. 413 for a file over the size limit, else 400."""

    def __init__(self, message: str, *, code: str, line: int | None = None):
        super().__init__(message, code=code, status=413 if code == "too_large" else 400)
        self.line = line


@dataclass(frozen=True)
class FileSettings:
    kind: str  # "csv" | "xlsx" (campaigns.models.FileKind values)
    encoding: str  # one of ENCODINGS; "" for xlsx
    delimiter: str  # one of DELIMITERS; "" for xlsx
    has_header: bool
    phone_column: int  # 1-based
    opt_in_column: int | None  # 1-based, optional (SPEC §8.5)


@dataclass(frozen=True)
class Detected:
    settings: FileSettings
    header: list[str] | None
    preview: list[list[str]]
    columns: int


@dataclass
class IntakeCounts:
    """What reading the records passed over, counted as they stream (a scrub's validation)."""

    # Lines (XLSX: rows) without data, before or after the header.
    blank: int = 0


class Record(NamedTuple):
    line: int  # 1-based physical line where the record starts (XLSX: the sheet row)
    fields: list[str]


# ---------------------------------------------------------------------------------------------
# Errors with their messages, in one place so the wording stays consistent.


def at(line: int | None, message: str) -> str:
    """The message after "Line N: ", or as a sentence of its own where there is no line."""
    if line is None:
        return message[:1].upper() + message[1:]
    return _("Line %(line)s: %(problem)s") % {"line": line, "problem": message}


def error(code: str, message: str, line: int | None = None) -> IntakeError:
    return IntakeError(at(line, message), code=code, line=line)


def binary_error(line: int | None) -> IntakeError:
    return error(
        "binary_file",
        _("the file contains binary data (NUL bytes). Upload a CSV, TXT or XLSX file."),
        line,
    )


def undecodable_error(line: int, encoding: str) -> IntakeError:
    return error(
        "unknown_encoding",
        _(
            "the text cannot be read as %(encoding)s. Choose another encoding, or save the file "
            "as CSV UTF-8 and upload it again."
        )
        % {"encoding": ENCODING_NAMES[encoding]},
        line,
    )


def unbalanced_error(line: int) -> IntakeError:
    return error(
        "unbalanced_quotes",
        _("a quoted field starts here and is never closed (unbalanced quotes)."),
        line,
    )


def ragged_error(line: int, found: int, expected: int, has_header: bool) -> IntakeError:
    if has_header:
        problem = _("this row has %(found)s fields where the header has %(expected)s.")
    else:
        problem = _("this row has %(found)s fields where the first row has %(expected)s.")
    return error("ragged_rows", problem % {"found": found, "expected": expected}, line)


def header_only_error(line: int) -> IntakeError:
    return error("header_only", _("the file has a header row but no data rows."), line)


def too_many_rows_error(line: int, limit: int) -> IntakeError:
    return error(
        "too_many_rows",
        _("the file has more than %(limit)s data rows, the most one file may have.")
        % {"limit": number_format(limit, force_grouping=True)},
        line,
    )


def invalid_setting_error(field: str, problem: str) -> IntakeError:
    return IntakeError(
        _("%(field)s: %(problem)s") % {"field": field, "problem": problem}, code="invalid_setting"
    )


ENCODING_NAMES = {
    "utf-8-sig": "UTF-8",
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}


def line_of(data: bytes, offset: int) -> int:
    return len(LINE_BREAKS.findall(data, 0, offset)) + 1


def is_blank(fields: Sequence[str]) -> bool:
    """Every field empty or only spaces and tabs."""
    return not "".join(fields).strip(BLANK)
