"""Reading call files (SPEC §8.1, §8.2, §8.8): detect the settings, stream the records, write the
file back with columns appended.

This module knows files, not scrubs. CSV/TXT files are read in chunks of bytes that end at a line
break: a chunk without a quote character is split with `str.split` (the fast path, what nearly
every export looks like); a chunk with quotes goes through the csv module, line by line, so quoted
delimiters and line breaks are honoured. All supported encodings are ASCII-compatible, so the
delimiter, the quote and the line breaks are the same single bytes whatever the encoding.
"""

import codecs
import csv
import datetime
import operator
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import islice
from operator import methodcaller
from pathlib import Path
from typing import BinaryIO, NamedTuple

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from register.errors import DomainError

ENCODINGS = ("utf-8-sig", "utf-8", "cp1252", "latin-1")
DELIMITERS = (";", ",", "|", "\t")
PREVIEW_RECORDS = 10

_CHUNK_BYTES = 1 << 20
# A line longer than this is not a line of a call file; reading on would only fill memory.
_MAX_LINE_BYTES = 16 << 20
_SAMPLE_BYTES = 256 << 10
_SAMPLE_RECORDS = 200
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old binary .xls (and .doc)
_BOM = codecs.BOM_UTF8
_BLANK = " \t"
# One physical line with its ending; lone CR counts as a line break, as the csv module does.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_LINE_BREAKS = re.compile(rb"\r\n|\r|\n")


class IntakeError(DomainError):
    """A call file that cannot be read as it is; the message names the line where there is one."""

    code = "invalid_file"
    status = 400

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


class Record(NamedTuple):
    line: int  # 1-based physical line where the record starts (XLSX: the sheet row)
    fields: list[str]


# ---------------------------------------------------------------------------------------------
# Errors with their messages, in one place so the wording stays consistent.


def _at(line: int | None, message: str) -> str:
    return _("Line %(line)s: %(problem)s") % {"line": line, "problem": message} if line else message


def _error(code: str, message: str, line: int | None = None) -> IntakeError:
    return IntakeError(_at(line, message), code=code, line=line)


def _binary(line: int | None) -> IntakeError:
    return _error(
        "binary_file",
        _("the file contains binary data (NUL bytes). Upload a CSV, TXT or XLSX file."),
        line,
    )


def _undecodable(line: int, encoding: str) -> IntakeError:
    return _error(
        "unknown_encoding",
        _(
            "the text cannot be read as %(encoding)s. Choose another encoding, or save the file "
            "as CSV UTF-8 and upload it again."
        )
        % {"encoding": _ENCODING_NAMES[encoding]},
        line,
    )


def _unbalanced(line: int) -> IntakeError:
    return _error(
        "unbalanced_quotes",
        _("a quoted field starts here and is never closed (unbalanced quotes)."),
        line,
    )


def _ragged(line: int, found: int, expected: int, has_header: bool) -> IntakeError:
    if has_header:
        problem = _("this row has %(found)s fields where the header has %(expected)s.")
    else:
        problem = _("this row has %(found)s fields where the first row has %(expected)s.")
    return _error("ragged_rows", problem % {"found": found, "expected": expected}, line)


def _header_only(line: int) -> IntakeError:
    return _error("header_only", _("the file has a header row but no data rows."), line)


def _too_many_rows(line: int, limit: int) -> IntakeError:
    return _error(
        "too_many_rows",
        _("the file has more than %(limit)s data rows, the most one file may have.")
        % {"limit": f"{limit:,}".replace(",", ".")},
        line,
    )


def _invalid(field: str, problem: str) -> IntakeError:
    return IntakeError(
        _("%(field)s: %(problem)s") % {"field": field, "problem": problem}, code="invalid_setting"
    )


_ENCODING_NAMES = {
    "utf-8-sig": "UTF-8",
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}


# ---------------------------------------------------------------------------------------------
# Detection


def intake_detect(
    path: Path, *, filename: str, overrides: Mapping[str, object] | None = None
) -> Detected:
    """The file's settings, header, preview and width, detected where `overrides` does not say."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    size = path.stat().st_size
    limit = django_settings.CALL_FILE_MAX_BYTES
    if size > limit:
        raise IntakeError(
            _("The file is larger than %(limit)s MB, the most one file may be.")
            % {"limit": limit // (1024 * 1024)},
            code="too_large",
        )
    if size == 0:
        raise _error("empty_file", _("The file is empty."))
    with path.open("rb") as f:
        head = f.read(_SAMPLE_BYTES)
        whole = len(head) == size
    if head.startswith(_ZIP_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return _detect_xlsx(path, overrides)
    return _detect_delimited(head, whole, overrides)


def _detect_delimited(head: bytes, whole: bool, overrides: Mapping[str, object]) -> Detected:
    if head.startswith(_OLE_MAGIC):
        raise _error(
            "binary_file",
            _("This is an old Excel file (.xls). Save it as .xlsx or CSV and upload it again."),
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(head):
        raise _error(
            "unknown_encoding",
            _(
                "The file is in UTF-16 (Unicode text). Save it as CSV UTF-8 (or CSV with "
                "semicolons) and upload it again."
            ),
        )
    if not whole:
        # Detection works on whole lines; the last one of the sample may be cut.
        cut = max(head.rfind(b"\n"), head.rfind(b"\r", 0, len(head) - 1))
        head = head[: cut + 1] if cut >= 0 else head
    if b"\x00" in head:
        raise _binary(_line_of(head, head.index(b"\x00")))

    encoding = _choose_encoding(head, overrides)
    raw = head[len(_BOM) :] if encoding == "utf-8-sig" else head
    try:
        text = raw.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as e:
        raise _undecodable(_line_of(raw, e.start), encoding) from None
    if _looks_binary(text):
        raise _binary(None)

    delimiter = _choose_delimiter(text, overrides)
    spans = _sample_records(text, delimiter, whole)
    records = [(line, fields) for line, fields in spans if not _is_blank(fields)]
    if not records:
        raise _error("empty_file", _("The file is empty: it has no rows with data."))

    columns = len(records[0][1])
    for line, fields in records[1:]:
        if len(fields) != columns:
            # The header decides below whether "header" or "first row" is the better word.
            raise _ragged(line, len(fields), columns, _header_by_name(records[0][1]))

    has_header = _choose_has_header(records, overrides)
    header = records[0][1] if has_header else None
    data = [fields for _line, fields in (records[1:] if has_header else records)]
    if not data:
        raise _header_only(records[0][0])
    phone_column, opt_in_column = _choose_columns(header, data, columns, overrides)
    return Detected(
        settings=FileSettings(
            kind="csv",
            encoding=encoding,
            delimiter=delimiter,
            has_header=has_header,
            phone_column=phone_column,
            opt_in_column=opt_in_column,
        ),
        header=header,
        preview=data[:PREVIEW_RECORDS],
        columns=columns,
    )


def _line_of(data: bytes, offset: int) -> int:
    return len(_LINE_BREAKS.findall(data, 0, offset)) + 1


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a BOM: ASCII text with a NUL after (or before) nearly every character."""
    sample = head[:4096]
    if len(sample) < 4:
        return False
    odd, even = sample[1::2], sample[0::2]
    return odd.count(0) > 0.4 * len(odd) or even.count(0) > 0.4 * len(even)


def _looks_binary(text: str) -> bool:
    """Control characters other than tab and line breaks are rare in text and common in binaries."""
    sample = text[:65536]
    controls = sum(1 for c in sample if c < " " and c not in "\t\r\n\f")
    return controls > max(8, len(sample) // 100)


def _choose_encoding(head: bytes, overrides: Mapping[str, object]) -> str:
    if "encoding" in overrides:
        encoding = _parse_encoding(overrides["encoding"])
        # A BOM is not text; UTF-8 chosen for a file with a BOM means UTF-8 with BOM.
        return "utf-8-sig" if encoding == "utf-8" and head.startswith(_BOM) else encoding
    if head.startswith(_BOM):
        return "utf-8-sig"
    for encoding in ("utf-8", "cp1252"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    # Bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): only Latin-1 reads them.
    return "latin-1"


_ENCODING_ALIASES = {
    "utf-8-sig": "utf-8-sig",
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
}


def _parse_encoding(value: object) -> str:
    encoding = _ENCODING_ALIASES.get(str(value).strip().lower().replace("_", "-"))
    if encoding is None:
        raise _invalid(
            "encoding",
            _("%(value)s is not supported; choose UTF-8, Windows-1252 or Latin-1.")
            % {"value": value},
        )
    return encoding


_DELIMITER_ALIASES = {";": ";", ",": ",", "|": "|", "\t": "\t", "\\t": "\t", "tab": "\t"}


def _choose_delimiter(text: str, overrides: Mapping[str, object]) -> str:
    if "delimiter" in overrides:
        value = overrides["delimiter"]
        delimiter = _DELIMITER_ALIASES.get(value if value == "\t" else str(value).strip().lower())
        if delimiter is None:
            raise _invalid(
                "delimiter",
                _("%(value)s is not supported; choose ; , | or tab.") % {"value": value},
            )
        return delimiter
    lines = [line for line in _LINE.findall(text[:65536]) if line.strip()][:50]
    best, best_score = ";", None
    # Ties go to the earlier delimiter: ";" is what Dutch and Belgian spreadsheets write.
    for delimiter in DELIMITERS:
        if not any(delimiter in line for line in lines):
            continue
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode > 1)
        if mode > 1 and (best_score is None or score > best_score):
            best, best_score = delimiter, score
    return best


def _sample_records(text: str, delimiter: str, whole: bool) -> list[tuple[int, list[str]]]:
    """The records of the sample (with their first line); blank ones included."""
    lines = _LINE.findall(text)
    spans, incomplete_at = _parse_lines(lines, delimiter, 1)
    # A sample cut from a larger file may end inside a quoted field; intake_records reads it whole.
    if incomplete_at is not None and whole:
        raise _unbalanced(incomplete_at)
    return [(line, fields) for line, _end, fields in spans[:_SAMPLE_RECORDS]]


def _is_blank(fields: Sequence[str]) -> bool:
    return not any(field.strip(_BLANK) for field in fields)


# Header names, normalised by _name_key (lower case, no accents, letters and digits only).
_PHONE_NAMES = {
    # Dutch
    "telefoon",
    "telefoonnummer",
    "telefoonnr",
    "telnr",
    "tel",
    "telefoonnummer1",
    "mobiel",
    "mobielnummer",
    "mobieltelefoonnummer",
    "mobiel06",
    "gsm",
    "gsmnummer",
    "nummer",
    "vastnummer",
    # French
    "telephone",
    "numerodetelephone",
    "numerotelephone",
    "notelephone",
    "numero",
    "portable",
    "mobile",
    "numerogsm",
    "numerodegsm",
    # English
    "phone",
    "phonenumber",
    "phoneno",
    "telephonenumber",
    "mobilenumber",
    "mobilephone",
    "cell",
    "cellphone",
    "number",
    "msisdn",
}
_PHONE_PARTS = ("telefoon", "telephone", "phone", "mobiel", "gsm", "msisdn")
_OPT_IN_NAMES = {
    "optin",
    "optindatum",
    "optindate",
    "dateoptin",
    "datumoptin",
    "toestemming",
    "toestemmingsdatum",
    "datumtoestemming",
    "consent",
    "consentdate",
    "dateofconsent",
    "consentement",
    "dateconsentement",
    "datedeconsentement",
    "dateduconsentement",
}
_OPT_IN_PARTS = ("optin", "toestemming", "consent")


def _name_key(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _find_by_name(header: Sequence[str], names: set[str], parts: tuple[str, ...]) -> int | None:
    """The 0-based column whose header is a known name, else one containing a known part."""
    keys = [_name_key(cell) for cell in header]
    for index, key in enumerate(keys):
        if key in names:
            return index
    for index, key in enumerate(keys):
        if any(part in key for part in parts):
            return index
    return None


def _header_by_name(cells: Sequence[str]) -> bool:
    return (
        _find_by_name(cells, _PHONE_NAMES, _PHONE_PARTS) is not None
        or _find_by_name(cells, _OPT_IN_NAMES, _OPT_IN_PARTS) is not None
    )


_PHONE_SEPARATORS = str.maketrans("", "", " .-/()\u00a0")


def _phone_score(value: str) -> int:
    """2 for what surely is a phone number, 1 for digits that may be one, 0 otherwise."""
    compact = value.strip().translate(_PHONE_SEPARATORS)
    prefixed = compact.startswith(("+", "0"))
    digits = compact[1:] if compact.startswith("+") else compact
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
        return 0
    return 2 if prefixed else 1


def _phone_column_by_content(rows: Sequence[Sequence[str]], columns: int) -> int | None:
    scores = [0] * columns
    for fields in rows:
        for index, value in enumerate(fields[:columns]):
            scores[index] += _phone_score(value)
    best = max(range(columns), key=lambda i: (scores[i], -i))
    return best if scores[best] else None


def _choose_has_header(records: list[tuple[int, list[str]]], overrides: Mapping) -> bool:
    if "has_header" in overrides:
        return _parse_bool("has_header", overrides["has_header"])
    first = records[0][1]
    if _header_by_name(first):
        return True
    rest = [fields for _line, fields in records[1:]]
    column = _phone_column_by_content(rest, len(first)) if rest else None
    if column is None:
        # Nothing below looks like a phone number: a first row without one reads as a header.
        return not any(_phone_score(value) for value in first)
    return _phone_score(first[column]) == 0


def _parse_bool(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on", "ja", "oui"}:
        return True
    if text in {"0", "false", "no", "off", "nee", "non"}:
        return False
    raise _invalid(field, _("%(value)s is not yes or no.") % {"value": value})


def _parse_column(field: str, value: object, header: Sequence[str] | None, columns: int) -> int:
    """A 1-based column from a 1-based index or a header name."""
    text = str(value).strip()
    if isinstance(value, int) or text.isdigit():
        index = int(text)
        if not 1 <= index <= columns:
            raise _invalid(
                field,
                _("column %(index)s does not exist; the file has %(columns)s columns.")
                % {"index": index, "columns": columns},
            )
        return index
    if header is not None:
        folded = [cell.strip().casefold() for cell in header]
        if text.casefold() in folded:
            return folded.index(text.casefold()) + 1
    raise _invalid(
        field, _("the file has no column named %(name)s.") % {"name": text or str(value)}
    )


def _choose_columns(
    header: list[str] | None, data: list[list[str]], columns: int, overrides: Mapping
) -> tuple[int, int | None]:
    if "phone_column" in overrides:
        phone = _parse_column("phone_column", overrides["phone_column"], header, columns)
    else:
        found = _find_by_name(header, _PHONE_NAMES, _PHONE_PARTS) if header else None
        if found is None:
            found = _phone_column_by_content(data, columns)
        if found is None:
            raise _error(
                "no_phone_column",
                _(
                    "No column with phone numbers was found. Name the phone column in the "
                    "header (for example telefoon, téléphone or phone) or choose it."
                ),
            )
        phone = found + 1
    if "opt_in_column" in overrides:
        value = overrides["opt_in_column"]
        # 0 says "no opt-in column", overruling what detection found.
        opt_in = (
            None
            if str(value).strip() == "0"
            else _parse_column("opt_in_column", value, header, columns)
        )
    else:
        found = _find_by_name(header, _OPT_IN_NAMES, _OPT_IN_PARTS) if header else None
        opt_in = None if found is None else found + 1
    if opt_in == phone:
        if "opt_in_column" in overrides:
            raise _invalid("opt_in_column", _("the opt-in column cannot be the phone column."))
        opt_in = None
    return phone, opt_in


# ---------------------------------------------------------------------------------------------
# Parsing delimited text


def _parse_lines(
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
        raise _unbalanced(first_line + start) from None
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
        if encoding != "utf-8-sig" or f.read(len(_BOM)) != _BOM:
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
                        raise _error(
                            "binary_file",
                            _("this line is longer than 16 MB: this is not a call file."),
                            first_line,
                        )
                    carry = buffer
                    continue
                piece, carry = buffer[: cut + 1], buffer[cut + 1 :]
            if b"\x00" in piece:
                raise _binary(first_line + _line_of(piece, piece.index(b"\x00")) - 1)
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
            line = first_line + _line_of(piece, e.start) - 1
            raise _undecodable(line, settings.encoding) from None
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
        lines = _LINE.findall(text)
        spans, open_at = _parse_lines(lines, settings.delimiter, first_line)
        leftover = ""
        if open_at is not None:
            if final:
                raise _unbalanced(open_at)
            used = spans[-1][1] if spans else 0
            leftover, leftover_line = "".join(lines[used:]), open_at
            lines = lines[:used]
        yield _Quoted(lines, spans)
    if leftover:
        raise _unbalanced(leftover_line)


# ---------------------------------------------------------------------------------------------
# Records

# Builds a Record from a (line, fields) pair in C, without the Python-level __new__.
_record = partial(tuple.__new__, Record)


def intake_records(path: Path, settings: FileSettings) -> Iterator[Record]:
    """The data records in file order (header and blank lines skipped), streamed."""
    if settings.kind == "xlsx":
        yield from _xlsx_records(path, settings)
        return
    limit = django_settings.CALL_FILE_MAX_ROWS
    delimiter = settings.delimiter
    split = methodcaller("split", delimiter)
    blank_strip = methodcaller("strip", delimiter + _BLANK)
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
                        raise _ragged(n, found, columns, settings.has_header)
            if count + len(lines) > limit:
                raise _too_many_rows(numbers[limit - count], limit)
            count += len(lines)
            yield from map(_record, zip(numbers, map(split, lines), strict=True))
            continue
        records = [
            _record((line, fields)) for line, _end, fields in chunk.spans if not _is_blank(fields)
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
                raise _ragged(record.line, len(record.fields), columns, settings.has_header)
        if count + len(records) > limit:
            raise _too_many_rows(records[limit - count].line, limit)
        count += len(records)
        yield from records
    if count == 0:
        if header_line is not None:
            raise _header_only(header_line)
        raise _error("empty_file", _("The file is empty: it has no rows with data."))


# ---------------------------------------------------------------------------------------------
# Writing the marked file


def intake_write_marked(
    path: Path,
    settings: FileSettings,
    sink: BinaryIO,
    header: Sequence[str],
    marks: Iterator[Sequence[str]],
) -> None:
    """The file again, with the columns `header` appended: every original byte kept."""
    marks = iter(marks)
    if settings.kind == "xlsx":
        _xlsx_write_marked(path, settings, sink, header, marks)
    else:
        _delimited_write_marked(path, settings, sink, header, marks)
    if next(marks, None) is not None:
        raise ValueError("more marks than records")


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


def _delimited_write_marked(
    path: Path,
    settings: FileSettings,
    sink: BinaryIO,
    header: Sequence[str],
    marks: Iterator[Sequence[str]],
) -> None:
    delimiter = settings.delimiter
    blank_strip = methodcaller("strip", delimiter + _BLANK)
    encoding = "utf-8" if settings.encoding == "utf-8-sig" else settings.encoding
    header_pending = settings.has_header

    def take(n: int) -> Iterable[str]:
        batch = list(islice(marks, n))
        if len(batch) != n:
            raise ValueError("fewer marks than records")
        return _tails(batch, delimiter)

    if settings.encoding == "utf-8-sig":
        with path.open("rb") as f:
            if f.read(len(_BOM)) == _BOM:
                sink.write(_BOM)
    for chunk in _delimited_chunks(path, settings):
        if isinstance(chunk, _Quoted):
            keep = [not _is_blank(fields) for _line, _end, fields in chunk.spans]
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


# ---------------------------------------------------------------------------------------------
# XLSX


def _xlsx_sheet(path: Path) -> tuple[int, Iterator[tuple[int, list]]]:
    """The first sheet: the column its cells start at (0-based) and its rows with their sheet
    row numbers, as calamine reads the values."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except (CalamineError, OSError, ValueError) as e:
        raise _error(
            "unreadable_xlsx",
            _("The Excel file cannot be read (%(problem)s). Save it again as .xlsx or as CSV.")
            % {"problem": type(e).__name__},
        ) from None
    # iter_rows starts at the sheet's first row but at the first used column (calamine 0.9).
    return sheet.start[1], enumerate(rows, 1)


def _cell_text(value) -> str:
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


def _xlsx_texts(path: Path) -> Iterator[tuple[int, list[str]]]:
    _offset, rows = _xlsx_sheet(path)
    for line, row in rows:
        yield line, [_cell_text(value) for value in row]


def _detect_xlsx(path: Path, overrides: Mapping[str, object]) -> Detected:
    records: list[tuple[int, list[str]]] = []
    for line, fields in _xlsx_texts(path):
        if not _is_blank(fields):
            records.append((line, fields))
            if len(records) > _SAMPLE_RECORDS:
                break
    if not records:
        raise _error("empty_file", _("The workbook's first sheet is empty."))
    columns = len(records[0][1])
    has_header = _choose_has_header(records, overrides)
    header = records[0][1] if has_header else None
    data = [fields for _line, fields in (records[1:] if has_header else records)]
    if not data:
        raise _header_only(records[0][0])
    phone_column, opt_in_column = _choose_columns(header, data, columns, overrides)
    return Detected(
        settings=FileSettings(
            kind="xlsx",
            encoding="",
            delimiter="",
            has_header=has_header,
            phone_column=phone_column,
            opt_in_column=opt_in_column,
        ),
        header=header,
        preview=data[:PREVIEW_RECORDS],
        columns=columns,
    )


def _xlsx_records(path: Path, settings: FileSettings) -> Iterator[Record]:
    limit = django_settings.CALL_FILE_MAX_ROWS
    header_pending = settings.has_header
    header_line = None
    count = 0
    for line, fields in _xlsx_texts(path):
        if _is_blank(fields):
            continue
        if header_pending:
            header_pending, header_line = False, line
            continue
        count += 1
        if count > limit:
            raise _too_many_rows(line, limit)
        yield Record(line, fields)
    if count == 0:
        if header_line is not None:
            raise _error(
                "header_only", _("The file has a header row but no data rows."), header_line
            )
        raise _error("empty_file", _("The workbook's first sheet is empty."))


def _xlsx_write_marked(
    path: Path,
    settings: FileSettings,
    sink: BinaryIO,
    header: Sequence[str],
    marks: Iterator[Sequence[str]],
) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(sink, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    header_pending = settings.has_header
    offset, rows = _xlsx_sheet(path)
    for line, row in rows:
        row_index = line - 1
        for column, value in enumerate(row, offset):
            _xlsx_write_cell(sheet, row_index, column, value, date_format, datetime_format)
        if all(_cell_text(value).strip(_BLANK) == "" for value in row):
            continue
        if header_pending:
            header_pending = False
            appended = header
        else:
            appended = next(marks, None)
            if appended is None:
                raise ValueError("fewer marks than records")
        for index, value in enumerate(appended):
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
        sheet.write_string(row, column, _cell_text(value))
