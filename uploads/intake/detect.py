"""Detecting a call file's settings (SPEC §8.2): kind, encoding, delimiter, header, and the phone
and opt-in columns; overrides from the API or the portal's correction form win."""

import codecs
import csv
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from .base import (
    BOM,
    DELIMITERS,
    LINE,
    Detected,
    FileSettings,
    IntakeError,
    binary_error,
    error,
    header_only_error,
    invalid_setting_error,
    is_blank,
    line_of,
    ragged_error,
    unbalanced_error,
    undecodable_error,
)
from .delimited import csv_records
from .xlsx import xlsx_first_rows, xlsx_texts

PREVIEW_RECORDS = 10
_SAMPLE_BYTES = 256 << 10
_SAMPLE_RECORDS = 200
# Rows of a workbook read for the sample: blank rows between records included.
_SAMPLE_XLSX_ROWS = 5 * _SAMPLE_RECORDS
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old binary .xls (and .doc)


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
        raise error("empty_file", _("The file is empty."))
    with path.open("rb") as f:
        head = f.read(_SAMPLE_BYTES)
        whole = len(head) == size
    if head.startswith(_ZIP_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return _detect_xlsx(path, overrides)
    return _detect_delimited(head, whole, overrides)


def _detect_delimited(head: bytes, whole: bool, overrides: Mapping[str, object]) -> Detected:
    if head.startswith(_OLE_MAGIC):
        raise error(
            "binary_file",
            _("This is an old Excel file (.xls). Save it as .xlsx or CSV and upload it again."),
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(head):
        raise error(
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
        raise binary_error(line_of(head, head.index(b"\x00")))

    encoding = _choose_encoding(head, overrides)
    raw = head[len(BOM) :] if encoding == "utf-8-sig" else head
    try:
        text = raw.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as e:
        raise undecodable_error(line_of(raw, e.start), encoding) from None
    if looks_binary(text):
        raise binary_error(None)

    delimiter = _choose_delimiter(text, overrides)
    spans = _sample_records(text, delimiter, whole)
    records = [(line, fields) for line, fields in spans if not is_blank(fields)]
    if not records:
        raise error("empty_file", _("The file is empty: it has no rows with data."))

    columns = len(records[0][1])
    for line, fields in records[1:]:
        if len(fields) != columns:
            # The header decides below whether "header" or "first row" is the better word.
            raise ragged_error(line, len(fields), columns, _header_by_name(records[0][1]))

    return _detected(
        records, columns, overrides, kind="csv", encoding=encoding, delimiter=delimiter
    )


def _detected(
    records: list[tuple[int, list[str]]],
    columns: int,
    overrides: Mapping[str, object],
    *,
    kind: str,
    encoding: str,
    delimiter: str,
) -> Detected:
    """The header, the columns and the preview of a sample of records, whatever the file type."""
    has_header = _choose_has_header(records, overrides)
    header = records[0][1] if has_header else None
    data = [fields for _line, fields in (records[1:] if has_header else records)]
    if not data:
        raise header_only_error(records[0][0])
    phone_column, opt_in_column = _choose_columns(header, data, columns, overrides)
    return Detected(
        settings=FileSettings(
            kind=kind,
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


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a BOM: ASCII text with a NUL after (or before) nearly every character."""
    sample = head[:4096]
    if len(sample) < 4:
        return False
    odd, even = sample[1::2], sample[0::2]
    return odd.count(0) > 0.4 * len(odd) or even.count(0) > 0.4 * len(even)


def looks_binary(text: str) -> bool:
    """Control characters other than tab and line breaks are rare in text and common in binaries."""
    sample = text[:65536]
    controls = sum(1 for c in sample if c < " " and c not in "\t\r\n\f")
    return controls > max(8, len(sample) // 100)


def _choose_encoding(head: bytes, overrides: Mapping[str, object]) -> str:
    if "encoding" in overrides:
        encoding = _parse_encoding(overrides["encoding"])
        # A BOM is not text; UTF-8 chosen for a file with a BOM means UTF-8 with BOM.
        return "utf-8-sig" if encoding == "utf-8" and head.startswith(BOM) else encoding
    if head.startswith(BOM):
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
        raise invalid_setting_error(
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
            raise invalid_setting_error(
                "delimiter",
                _("%(value)s is not supported; choose ; , | or tab.") % {"value": value},
            )
        return delimiter
    lines = [line for line in LINE.findall(text[:65536]) if line.strip()][:50]
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
    run, open_at = csv_records(LINE.findall(text), 0, ending="", delimiter=delimiter, first_line=1)
    # A sample cut from a larger file may end inside a quoted field; intake_records reads it whole.
    if open_at is not None and whole:
        raise unbalanced_error(open_at)
    spans = run.spans[:_SAMPLE_RECORDS]
    return [(start + 1, fields) for (start, _stop), fields in zip(spans, run.rows, strict=False)]


# Header names, normalised by _name_key (lower case, no accents, letters and digits only), in
# tiers: a name that says "phone" wins over one that contains such a word, and both win over a
# bare "number", which may as well be a customer or house number.
_PHONE_NAMES = (
    {
        # Dutch
        "telefoon",
        "telefoonnummer",
        "telefoonnr",
        "telnr",
        "tel",
        "mobiel",
        "mobielnummer",
        "mobieletelefoon",
        "gsm",
        "gsmnummer",
        # French
        "telephone",
        "numerodetelephone",
        "numerotelephone",
        "notelephone",
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
        "msisdn",
    },
    ("telefoon", "telephone", "phone", "mobiel", "gsm", "msisdn"),
    {"nummer", "numero", "number"},
)
_OPT_IN_NAMES = (
    {
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
    },
    ("optin", "toestemming", "consent"),
    set(),
)


def _name_key(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _find_by_name(header: Sequence[str], names: tuple[set[str], tuple[str, ...], set[str]]):
    """The 0-based column whose header is a known name, by the tiers of `names`; else None."""
    keys = [_name_key(cell) for cell in header]
    exact, parts, generic = names
    for matches in (
        lambda key: key in exact,
        lambda key: any(part in key for part in parts),
        lambda key: key in generic,
    ):
        for index, key in enumerate(keys):
            if matches(key):
                return index
    return None


def _header_by_name(cells: Sequence[str]) -> bool:
    return (
        _find_by_name(cells, _PHONE_NAMES) is not None
        or _find_by_name(cells, _OPT_IN_NAMES) is not None
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
    raise invalid_setting_error(field, _("%(value)s is not yes or no.") % {"value": value})


def _parse_column(field: str, value: object, header: Sequence[str] | None, columns: int) -> int:
    """A 1-based column from a 1-based index or a header name."""
    text = str(value).strip()
    if isinstance(value, int) or text.isdigit():
        index = int(text)
        if not 1 <= index <= columns:
            raise invalid_setting_error(
                field,
                _("column %(index)s does not exist; the file has %(columns)s columns.")
                % {"index": index, "columns": columns},
            )
        return index
    if header is not None:
        folded = [cell.strip().casefold() for cell in header]
        if text.casefold() in folded:
            return folded.index(text.casefold()) + 1
    raise invalid_setting_error(
        field, _("the file has no column named %(name)s.") % {"name": text or str(value)}
    )


def _choose_columns(
    header: list[str] | None, data: list[list[str]], columns: int, overrides: Mapping
) -> tuple[int, int | None]:
    if "phone_column" in overrides:
        phone = _parse_column("phone_column", overrides["phone_column"], header, columns)
    else:
        found = _find_by_name(header, _PHONE_NAMES) if header else None
        if found is None:
            found = _phone_column_by_content(data, columns)
        if found is None:
            raise error(
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
        found = _find_by_name(header, _OPT_IN_NAMES) if header else None
        opt_in = None if found is None else found + 1
    if opt_in == phone:
        if "opt_in_column" in overrides:
            raise invalid_setting_error(
                "opt_in_column", _("the opt-in column cannot be the phone column.")
            )
        opt_in = None
    return phone, opt_in


def _detect_xlsx(path: Path, overrides: Mapping[str, object]) -> Detected:
    records: list[tuple[int, list[str]]] = []
    with xlsx_first_rows(path, _SAMPLE_XLSX_ROWS) as head:
        for line, fields in xlsx_texts(head):
            if not is_blank(fields):
                records.append((line, fields))
                if len(records) > _SAMPLE_RECORDS:
                    break
    if not records:
        raise error("empty_file", _("The workbook's first sheet is empty."))
    columns = len(records[0][1])
    return _detected(records, columns, overrides, kind="xlsx", encoding="", delimiter="")
