"""Reading call files (SPEC §8.1, §8.2, §8.4, §8.8): detection, records, the marked file back.

(tests/uploads/test_intake.py is the registration-file upload of §11; this is uploads/intake/.)
"""

import datetime
import io
from pathlib import Path

import pytest
import xlsxwriter
from django.utils import translation
from python_calamine import CalamineWorkbook

from uploads.intake import (
    FileSettings,
    IntakeError,
    Record,
    delimited,
    intake_detect,
    intake_records,
    intake_write_marked,
    xlsx,
)

MARK_HEADER = ["dnc_status", "dnc_reason"]


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, the source language (the project's default is Dutch)."""
    with translation.override("en"):
        yield


def write(tmp_path: Path, data: bytes | str, name: str = "calls.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def detect(path: Path, **overrides):
    return intake_detect(path, filename=path.name, overrides=overrides or None)


def records(path: Path, settings: FileSettings | None = None) -> list[Record]:
    return list(intake_records(path, settings or detect(path).settings))


def marked(path: Path, settings: FileSettings, marks: list[list[str]]) -> bytes:
    sink = io.BytesIO()
    intake_write_marked(path, settings, sink, MARK_HEADER, iter(marks))
    return sink.getvalue()


@pytest.fixture(params=[1 << 20, 24], ids=["one-chunk", "tiny-chunks"])
def chunk_bytes(request, monkeypatch):
    """Tiny chunks put chunk boundaries inside quoted records, CRLFs and the header."""
    monkeypatch.setattr(delimited, "_CHUNK_BYTES", request.param)
    return request.param


# --- Encodings (SPEC §8.1) ------------------------------------------------------------------

ENCODING_CASES = [
    # (id, bytes, detected encoding, name read back)
    ("utf-8", "naam;telefoon\nRené € ë;0612345678\n".encode(), "utf-8", "René € ë"),
    (
        "utf-8 with BOM",
        b"\xef\xbb\xbf" + "naam;telefoon\nRené € ë;0612345678\n".encode(),
        "utf-8-sig",
        "René € ë",
    ),
    (
        "windows-1252 with euro and e-diaeresis",
        "naam;telefoon\nRené € ë;0612345678\n".encode("cp1252"),
        "cp1252",
        "René € ë",
    ),
    # Latin-1 text reads the same as Windows-1252 (its superset for printable text)...
    ("latin-1", "naam;telefoon\nRené ë;0612345678\n".encode("latin-1"), "cp1252", "René ë"),
    # ...except bytes Windows-1252 leaves undefined: only Latin-1 reads those.
    (
        "latin-1 with a byte cp1252 lacks",
        "naam;telefoon\nRené\x81 ë;0612345678\n".encode("latin-1"),
        "latin-1",
        "René\x81 ë",
    ),
]


@pytest.mark.parametrize(
    ("data", "encoding", "name"),
    [case[1:] for case in ENCODING_CASES],
    ids=[case[0] for case in ENCODING_CASES],
)
def test_encoding_is_detected_and_text_read_back(tmp_path, chunk_bytes, data, encoding, name):
    path = write(tmp_path, data)
    detected = detect(path)
    assert detected.settings.encoding == encoding
    assert detected.header == ["naam", "telefoon"]
    assert records(path) == [Record(2, [name, "0612345678"])]


# --- Delimiters, header, line endings (SPEC §8.1) --------------------------------------------

DIALECT_CASES = [
    # (id, text, delimiter, has_header, phone column)
    ("semicolon header", "naam;telefoon\nJan;0612345678\nPiet;0687654321\n", ";", True, 2),
    ("comma header", "name,phone\nJan,0612345678\nPiet,0687654321\n", ",", True, 2),
    ("pipe header", "naam|gsm\nJan|0470123456\nPiet|0471234567\n", "|", True, 2),
    ("tab header", "nom\ttéléphone\nJean\t0470123456\nPierre\t0471234567\n", "\t", True, 2),
    ("semicolon no header", "Jan;0612345678\nPiet;0687654321\n", ";", False, 2),
    ("comma no header", "0612345678,Jan\n0687654321,Piet\n", ",", False, 1),
    ("pipe no header", "Jan|Utrecht|0612345678\nPiet|Gent|0687654321\n", "|", False, 3),
    ("tab no header", "Jan\t0612345678\nPiet\t0687654321\n", "\t", False, 2),
    ("CRLF", "naam;telefoon\r\nJan;0612345678\r\nPiet;0687654321\r\n", ";", True, 2),
    ("no final line break", "naam;telefoon\nJan;0612345678\nPiet;0687654321", ";", True, 2),
    ("one column", "telefoon\n0612345678\n0687654321\n", ";", True, 1),
    (
        "comma inside names",
        "naam;telefoon\nJansen, Jan;0612345678\nDe Vries, P;06876543\n",
        ";",
        True,
        2,
    ),
]


@pytest.mark.parametrize(
    ("text", "delimiter", "has_header", "phone_column"),
    [case[1:] for case in DIALECT_CASES],
    ids=[case[0] for case in DIALECT_CASES],
)
def test_dialect_header_and_phone_column_are_detected(
    tmp_path, chunk_bytes, text, delimiter, has_header, phone_column
):
    path = write(tmp_path, text)
    detected = detect(path)
    assert detected.settings == FileSettings(
        kind="csv",
        encoding="utf-8",
        delimiter=delimiter,
        has_header=has_header,
        phone_column=phone_column,
        opt_in_column=None,
    )
    read = records(path)
    assert len(read) == 2
    assert read[0].line == (2 if has_header else 1)
    assert read[0].fields[phone_column - 1] in {"0612345678", "0470123456"}
    assert detected.preview == [record.fields for record in read]
    assert detected.columns == len(read[0].fields)


PHONE_HEADER_CASES = [
    # Dutch
    "Telefoon",
    "Telefoonnummer",
    "tel.nr.",
    "Mobiel nummer",
    "GSM",
    # French
    "Téléphone",
    "Numéro de téléphone",
    "Portable",
    # English
    "Phone",
    "Phone number",
    "Mobile",
    "Telephone",
    # Bare "number" in each language, when no column says more
    "Nummer",
    "Numéro",
    "Number",
]


@pytest.mark.parametrize("name", PHONE_HEADER_CASES)
def test_phone_column_is_found_by_its_header_name(tmp_path, name):
    # The first column holds phone-like digits (a customer number), so only the name decides.
    path = write(tmp_path, f"klantnummer;{name};plaats\n0123456789;0612345678;Utrecht\n")
    detected = detect(path)
    assert detected.settings.has_header is True
    assert detected.settings.phone_column == 2


def test_a_column_named_phone_wins_over_one_named_number(tmp_path):
    path = write(tmp_path, "Nummer;Naam;Mobiel\n1234567890;Jan;0612345678\n")
    assert detect(path).settings.phone_column == 3


def test_phone_column_is_found_by_content_when_the_header_names_nothing_known(tmp_path):
    path = write(
        tmp_path,
        "kolom1;kolom2;kolom3\nJan;Utrecht;06-12345678\nPiet;Gent;+32 470 12 34 56\n",
    )
    detected = detect(path)
    assert detected.settings.has_header is True
    assert detected.settings.phone_column == 3


OPT_IN_CASES = ["opt-in datum", "Opt_in", "optin", "Toestemming", "consent", "date_consentement"]


@pytest.mark.parametrize("name", OPT_IN_CASES)
def test_opt_in_column_is_found_by_header_name(tmp_path, name):
    path = write(tmp_path, f"telefoon;naam;{name}\n0612345678;Jan;2024-03-01\n")
    assert detect(path).settings.opt_in_column == 3


def test_no_opt_in_column_without_a_known_name(tmp_path):
    path = write(tmp_path, "telefoon;naam;datum\n0612345678;Jan;2024-03-01\n")
    assert detect(path).settings.opt_in_column is None


# --- Quoting, blank lines, line numbers -------------------------------------------------------

QUOTED = (
    "naam;telefoon;notitie\r\n"
    '"Jansen; Jan";0612345678;"zegt ""nee"""\r\n'
    "\r\n"
    " ; ;\r\n"
    '"De Vries";0687654321;"twee\r\nregels"\r\n'
    "Kees;0611111111;\r\n"
)


def test_quoted_fields_keep_delimiters_quotes_and_line_breaks(tmp_path, chunk_bytes):
    path = write(tmp_path, QUOTED)
    detected = detect(path)
    assert detected.settings.delimiter == ";"
    # Blank lines (empty, or only delimiters and spaces) are not records; lines are physical.
    assert records(path) == [
        Record(2, ["Jansen; Jan", "0612345678", 'zegt "nee"']),
        Record(5, ["De Vries", "0687654321", "twee\r\nregels"]),
        Record(7, ["Kees", "0611111111", ""]),
    ]


def test_lone_carriage_returns_end_lines(tmp_path, chunk_bytes):
    path = write(tmp_path, "naam;telefoon\rJan;0612345678\rPiet;0687654321\r")
    assert records(path) == [
        Record(2, ["Jan", "0612345678"]),
        Record(3, ["Piet", "0687654321"]),
    ]


# --- Overrides (SPEC §8.2, §16) -----------------------------------------------------------------

OVERRIDE_CASES = [
    # (id, overrides, expected settings fields)
    ("phone column by index", {"phone_column": 1}, {"phone_column": 1}),
    ("phone column by index as text", {"phone_column": "3"}, {"phone_column": 3}),
    ("phone column by header name", {"phone_column": "Vast"}, {"phone_column": 3}),
    ("opt-in column by name", {"opt_in_column": "datum"}, {"opt_in_column": 4}),
    ("opt-in column by index", {"opt_in_column": 4}, {"opt_in_column": 4}),
    ("no header", {"has_header": "false"}, {"has_header": False}),
    ("encoding", {"encoding": "Windows-1252"}, {"encoding": "cp1252"}),
    ("delimiter", {"delimiter": ";"}, {"delimiter": ";"}),
    ("empty values mean detect", {"encoding": "", "phone_column": None}, {}),
]


@pytest.mark.parametrize(
    ("overrides", "changed"),
    [case[1:] for case in OVERRIDE_CASES],
    ids=[case[0] for case in OVERRIDE_CASES],
)
def test_overrides_win_over_detection(tmp_path, overrides, changed):
    path = write(tmp_path, "naam;mobiel;vast;datum\nJan;0612345678;0201234567;2024-01-01\n")
    detected = detect(path, **overrides)
    expected = {
        "kind": "csv",
        "encoding": "utf-8",
        "delimiter": ";",
        "has_header": True,
        "phone_column": 2,
        "opt_in_column": None,
        **changed,
    }
    assert detected.settings == FileSettings(**expected)


INVALID_OVERRIDES = [
    ({"phone_column": 9}, "phone_column"),
    ({"phone_column": "fax"}, "phone_column"),
    ({"opt_in_column": "toestemming"}, "opt_in_column"),
    ({"opt_in_column": 2}, "opt_in_column"),  # the phone column
    ({"encoding": "utf-16"}, "encoding"),
    ({"delimiter": ":"}, "delimiter"),
    ({"has_header": "misschien"}, "has_header"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID_OVERRIDES)
def test_an_impossible_override_is_an_invalid_setting_naming_the_field(tmp_path, overrides, field):
    path = write(tmp_path, "naam;mobiel\nJan;0612345678\n")
    with pytest.raises(IntakeError) as error:
        detect(path, **overrides)
    assert error.value.code == "invalid_setting"
    assert error.value.status == 400
    assert str(error.value).startswith(f"{field}:")


def test_wrong_encoding_override_names_the_line(tmp_path):
    path = write(tmp_path, "naam;telefoon\nJan;0612345678\nRené;0687654321\n", encoding="cp1252")
    with pytest.raises(IntakeError) as error:
        detect(path, encoding="utf-8")
    assert error.value.code == "unknown_encoding"
    assert error.value.line == 3
    assert str(error.value).startswith("Line 3:")


# --- Bad files (SPEC §8.8), one row each -------------------------------------------------------

BAD_FILES = [
    # (id, bytes, code, line)
    ("empty", b"", "empty_file", None),
    ("only blank lines", b"\n ;\r\n\n", "empty_file", None),
    ("header only", b"telefoon;naam\n", "header_only", 1),
    ("no phone column", b"naam;plaats\nJan;Utrecht\nPiet;Gent\n", "no_phone_column", None),
    ("binary", bytes(range(256)) * 4, "binary_file", 1),
    ("NUL on line 3", b"telefoon;naam\n0612345678;Jan\n06\x00;Piet\n", "binary_file", 3),
    ("old xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "binary_file", None),
    ("utf-16", "telefoon;naam\n0612345678;Jan\n".encode("utf-16"), "unknown_encoding", None),
    (
        "utf-16 without BOM",
        "telefoon;naam\n0612345678;Jan\n".encode("utf-16-le"),
        "unknown_encoding",
        None,
    ),
    (
        "unbalanced quotes",
        b'telefoon;naam\n0612345678;Jan\n0687654321;"Piet\n',
        "unbalanced_quotes",
        3,
    ),
    ("ragged rows", b"telefoon;naam\n0612345678;Jan\n0687654321;Piet;Gent\n", "ragged_rows", 3),
    ("ragged without header", b"0612345678;Jan\n0687654321\n", "ragged_rows", 2),
    ("ragged quoted line", b'telefoon;naam\n0612345678;Jan\n06;"a;b";c\n06;P\n', "ragged_rows", 3),
]


def read_all(path: Path) -> None:
    list(intake_records(path, detect(path).settings))


@pytest.mark.parametrize(
    ("data", "code", "line"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_bad_file_is_refused_with_its_code_and_line(tmp_path, chunk_bytes, data, code, line):
    path = write(tmp_path, data)
    with pytest.raises(IntakeError) as error:
        read_all(path)
    assert (error.value.code, error.value.line, error.value.status) == (code, line, 400)
    message = str(error.value)
    assert message.startswith(f"Line {line}:") if line else "Line" not in message


def test_utf16_message_says_to_save_as_utf8(tmp_path):
    path = write(tmp_path, "telefoon;naam\n0612345678;Jan\n".encode("utf-16"))
    with pytest.raises(IntakeError, match="UTF-8"):
        detect(path)


def test_bad_bytes_after_the_detection_sample_are_found_while_reading(tmp_path):
    lines = ["telefoon;naam"] + [f"06{n:08d};Jan" for n in range(30_000)]
    data = ("\n".join(lines) + "\n").encode() + "06999;René\n".encode("cp1252")
    path = write(tmp_path, data)
    settings = detect(path).settings
    assert settings.encoding == "utf-8"  # the first 256 KB are UTF-8
    with pytest.raises(IntakeError) as error:
        list(intake_records(path, settings))
    assert (error.value.code, error.value.line) == ("unknown_encoding", 30_002)


def test_unbalanced_quote_in_a_large_file_names_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited, "_CHUNK_BYTES", 4096)
    lines = ["telefoon;naam"] + [f"06{n:08d};Jan" for n in range(20_000)]
    lines[100] = '0612345678;"Jan'
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(IntakeError) as error:
        read_all(path)
    assert (error.value.code, error.value.line) == ("unbalanced_quotes", 101)


def test_over_the_size_limit_is_too_large_413(tmp_path, settings):
    settings.CALL_FILE_MAX_BYTES = 20
    path = write(tmp_path, "telefoon\n0612345678\n0687654321\n")
    with pytest.raises(IntakeError) as error:
        detect(path)
    assert (error.value.code, error.value.status) == ("too_large", 413)


@pytest.mark.parametrize("blank", ["", "\n\n"])
def test_over_the_row_limit_names_the_first_line_too_many(tmp_path, chunk_bytes, settings, blank):
    settings.CALL_FILE_MAX_ROWS = 2
    path = write(tmp_path, f"telefoon\n0612345678\n{blank}0687654321\n0611111111\n")
    settings_of_file = detect(path).settings
    with pytest.raises(IntakeError) as error:
        list(intake_records(path, settings_of_file))
    assert error.value.code == "too_many_rows"
    assert error.value.line == 4 + blank.count("\n")


def test_exactly_the_row_limit_is_allowed(tmp_path, settings):
    settings.CALL_FILE_MAX_ROWS = 2
    path = write(tmp_path, "telefoon\n0612345678\n0687654321\n")
    assert len(records(path)) == 2


# --- The marked file keeps every original byte (SPEC §8.4) -------------------------------------

SPARSE = ["naam;telefoon\n"] + [
    f'"Jé; {n}";06{n:08d}\n' if n % 7 == 3 else f"Jé {n};06{n:08d}\n" for n in range(40)
]
ROUND_TRIPS = [
    ("utf-8 semicolon LF", "naam;telefoon\nJé;0612345678\n\nPiet;0687654321\n", "utf-8"),
    ("utf-8 BOM CRLF", "\ufeffnaam;telefoon\r\nJé;0612345678\r\n;\r\nPiet;0687654321", "utf-8"),
    ("cp1252 comma", "naam,telefoon\r\nJé €,0612345678\r\nPiet,0687654321\r\n", "cp1252"),
    ("latin-1 pipe", "naam|telefoon\nJé|0612345678\nPiet|0687654321\n", "latin-1"),
    ("tab no header", "Jé\t0612345678\n\nPiet\t0687654321\n", "utf-8"),
    ("quoted", QUOTED, "utf-8"),
    ("lone CR", "telefoon;naam\r0612345678;Jan\r\r0687654321;Piet\r", "utf-8"),
    ("mixed endings", "telefoon;naam\r\n0612345678;Jan\n0687654321;Piet\r\n", "utf-8"),
    ("leading blank lines", "\n\ntelefoon;naam\n0612345678;Jan\n", "utf-8"),
    # Every field quoted (some exporters do): the csv module reads every line.
    ("all quoted", '"naam";"tel"\r\n"Jé";"0612345678"\r\n"";""\r\n"P";"0687654321"', "utf-8"),
    # A few quoted lines among plain ones: only those go through the csv module.
    ("few quoted", "".join(SPARSE), "cp1252"),
]


@pytest.mark.parametrize(
    ("text", "encoding"), [case[1:] for case in ROUND_TRIPS], ids=[case[0] for case in ROUND_TRIPS]
)
def test_marked_file_is_the_original_plus_the_appended_fields(
    tmp_path, chunk_bytes, text, encoding
):
    original = text.encode(encoding)
    path = write(tmp_path, original)
    settings = detect(path).settings
    read = records(path, settings)
    delimiter = settings.delimiter
    # The second value holds the delimiter: it must come back quoted, and be read back whole.
    marks = [[f"MARK{n:03d}", f"a{delimiter}b"] for n in range(len(read))]
    output = marked(path, settings, marks)

    appended = f'{delimiter}MARK{{:03d}}{delimiter}"a{delimiter}b"'
    stripped = output
    for n in range(len(read)):
        stripped = stripped.replace(appended.format(n).encode(encoding), b"", 1)
    if settings.has_header:
        stripped = stripped.replace(f"{delimiter}dnc_status{delimiter}dnc_reason".encode(), b"", 1)
    assert stripped == original

    out_path = write(tmp_path, output, "marked.csv")
    again = list(intake_records(out_path, settings))
    assert [record.line for record in again] == [record.line for record in read]
    assert [record.fields for record in again] == [
        record.fields + mark for record, mark in zip(read, marks, strict=True)
    ]


def test_marked_file_needs_one_mark_per_record(tmp_path):
    path = write(tmp_path, "telefoon\n0612345678\n0687654321\n")
    settings = detect(path).settings
    with pytest.raises(ValueError, match="fewer"):
        marked(path, settings, [["A", "B"]])
    with pytest.raises(ValueError, match="more"):
        marked(path, settings, [["A", "B"]] * 3)


# --- XLSX (SPEC §8.1) -------------------------------------------------------------------------


def workbook(tmp_path: Path, rows: dict[int, list], *, first_column: int = 0) -> Path:
    path = tmp_path / "calls.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    date = book.add_format({"num_format": "dd-mm-yyyy"})
    for row, values in rows.items():
        for column, value in enumerate(values, first_column):
            if isinstance(value, datetime.date):
                sheet.write_datetime(row, column, value, date)
            elif isinstance(value, str):
                sheet.write_string(row, column, value)
            elif value is not None:
                sheet.write_number(row, column, value)
    book.add_worksheet("second")  # only the first sheet is read
    book.close()
    return path


def test_xlsx_is_read_from_its_first_sheet_with_sheet_row_numbers(tmp_path):
    # Rows from the third, columns from B, a blank row between: line numbers are the sheet's.
    path = workbook(
        tmp_path,
        {
            2: ["Naam", "GSM", "Toestemming", "Bedrag"],
            3: ["Jan", 31612345678, datetime.date(2024, 5, 1), 12.5],
            5: ["=SOM(A1)", 612345678, None, 3],
        },
        first_column=1,
    )
    detected = intake_detect(path, filename="bestand.bin")  # the zip magic decides, not the name
    assert detected.settings == FileSettings(
        kind="xlsx",
        encoding="",
        delimiter="",
        has_header=True,
        phone_column=2,
        opt_in_column=3,
    )
    assert detected.header == ["Naam", "GSM", "Toestemming", "Bedrag"]
    assert records(path) == [
        Record(4, ["Jan", "31612345678", "2024-05-01", "12.5"]),
        Record(6, ["=SOM(A1)", "612345678", "", "3"]),
    ]


def test_xlsx_marked_keeps_values_and_appends_columns(tmp_path):
    path = workbook(
        tmp_path,
        {
            0: ["Naam", "Telefoon", "Datum"],
            1: ["Jan", 31612345678, datetime.date(2024, 5, 1)],
            3: ["=1+1", 612345678, None],
        },
    )
    settings = detect(path).settings
    out_path = tmp_path / "marked.xlsx"
    out_path.write_bytes(marked(path, settings, [["BLOCKED", "REGISTERED"], ["CALLABLE", ""]]))
    rows = list(CalamineWorkbook.from_path(str(out_path)).get_sheet_by_index(0).iter_rows())
    assert rows == [
        ["Naam", "Telefoon", "Datum", "dnc_status", "dnc_reason"],
        ["Jan", 31612345678.0, datetime.date(2024, 5, 1), "BLOCKED", "REGISTERED"],
        ["", "", "", "", ""],
        # Text that looks like a formula stays text.
        ["=1+1", 612345678.0, "", "CALLABLE", ""],
    ]


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"PK\x03\x04 not really a zip", "calls.xlsx"), (b"telefoon\n0612345678\n", "calls.xlsx")],
    ids=["broken zip", "text named .xlsx"],
)
def test_unreadable_xlsx_is_refused(tmp_path, data, name):
    path = write(tmp_path, data, name)
    with pytest.raises(IntakeError) as error:
        detect(path)
    assert error.value.code == "unreadable_xlsx"


def test_xlsx_over_the_cell_limit_is_too_large_413(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_XLSX_CELLS", 8)
    path = workbook(tmp_path, {0: ["Telefoon", "Naam"], 1: [612345678, "Jan"]})
    assert detect(path).settings.phone_column == 1  # 4 cells
    path = workbook(tmp_path, {row: [612345678, "Jan", "Utrecht"] for row in range(3)})
    with pytest.raises(IntakeError) as error:
        detect(path)
    assert (error.value.code, error.value.status) == ("too_large", 413)
    assert "CSV" in str(error.value)


def test_xlsx_over_the_row_limit_names_the_first_row_too_many(tmp_path, settings):
    settings.CALL_FILE_MAX_ROWS = 2
    path = workbook(tmp_path, {row: [612345678 + row] for row in range(4)})
    settings_of_file = detect(path).settings
    with pytest.raises(IntakeError) as error:
        list(intake_records(path, settings_of_file))
    assert (error.value.code, error.value.line) == ("too_many_rows", 3)


def test_empty_xlsx_is_empty(tmp_path):
    path = workbook(tmp_path, {})
    with pytest.raises(IntakeError) as error:
        detect(path)
    assert error.value.code == "empty_file"


def test_xlsx_header_only(tmp_path):
    path = workbook(tmp_path, {0: ["Telefoon", "Naam"]})
    with pytest.raises(IntakeError) as error:
        detect(path)
    assert (error.value.code, error.value.line) == ("header_only", 1)
