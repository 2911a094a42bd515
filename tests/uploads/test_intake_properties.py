"""Malformed call files thrown at the intake (SPEC §8.8): a clear IntakeError or a correct read,
never another exception; a read agrees with the csv module, and the marked file keeps every byte."""

import csv
import io
import tempfile
from pathlib import Path
from unittest import mock

from django.utils import translation
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from uploads.intake import (
    DELIMITERS,
    FileSettings,
    IntakeError,
    delimited,
    intake_detect,
    intake_records,
    intake_write_marked,
)

ENDINGS = ["\n", "\r\n", "\r"]
# Characters that make files hard: every delimiter, quotes, line breaks, spaces, non-ASCII.
FIELD_TEXT = st.text(
    alphabet=st.sampled_from(list(';,|\t"\r\n ') + list("0123456789+-abcéë€")), max_size=12
)
PLAIN_TEXT = st.text(alphabet=st.sampled_from(list(" 0123456789+-abcéë€")), max_size=12)
PHONE = st.from_regex(r"\A(\+31|0031|0)6[ -]?[0-9]{8}\Z")


@st.composite
def delimited_files(draw) -> bytes:
    """Rows of fields joined by a delimiter (sometimes a different one), quoted or not, with
    random line endings, encoded; sometimes cut short, sometimes with a header."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    columns = draw(st.integers(1, 4))
    rows = []
    if draw(st.booleans()):
        rows.append(
            delimiter.join(draw(st.sampled_from(["telefoon", "naam", "x"])) for _ in range(columns))
        )
    for _ in range(draw(st.integers(0, 15))):
        fields = []
        for column in range(columns):
            if column == 0 and draw(st.booleans()):
                value = draw(PHONE)
            elif draw(st.booleans()):
                value = '"' + draw(FIELD_TEXT).replace('"', '""') + '"'
            else:
                # Mostly text that needs no quotes; sometimes text that should have had them.
                value = draw(FIELD_TEXT if draw(st.integers(0, 4)) == 0 else PLAIN_TEXT)
            fields.append(value)
        if draw(st.integers(0, 39)) == 0:
            # A mixed or extra delimiter: a ragged row or a different dialect.
            fields.append(draw(FIELD_TEXT))
        row_delimiter = delimiter if draw(st.integers(0, 9)) else draw(st.sampled_from(DELIMITERS))
        rows.append(row_delimiter.join(fields))
    # One line ending for the whole file (as most files have), or any ending on any line.
    endings = (
        st.just(draw(st.sampled_from(ENDINGS))) if draw(st.booleans()) else st.sampled_from(ENDINGS)
    )
    text = "".join(row + draw(endings) for row in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


FILES = st.one_of(st.binary(max_size=400), delimited_files())


def csv_records(data: bytes, found: FileSettings) -> list[list[str]]:
    """What the csv module reads from the file with the same settings: the non-blank rows."""
    text = data.decode("utf-8-sig" if found.encoding == "utf-8-sig" else found.encoding)
    rows = [
        row
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=found.delimiter)
        if any(field.strip(" \t") for field in row)
    ]
    return rows[1:] if found.has_header else rows


def read(data: bytes, chunk_bytes: int):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "calls.csv"
        path.write_bytes(data)
        with mock.patch.object(delimited, "_CHUNK_BYTES", chunk_bytes):
            detected = intake_detect(path, filename="calls.csv")
            records = list(intake_records(path, detected.settings))
            sink = io.BytesIO()
            marks = [[f"M{n}", "a;b|c,d"] for n in range(len(records))]
            intake_write_marked(
                path, detected.settings, sink, ["dnc_status", "dnc_reason"], iter(marks)
            )
        return detected, records, sink.getvalue()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=FILES, chunk_bytes=st.sampled_from([7, 64, 1 << 20]))
def test_malformed_files_give_an_intake_error_or_the_records_csv_reads(data, chunk_bytes):
    try:
        # Messages in English, the source language, whatever the project's default.
        with translation.override("en"):
            detected, records, output = read(data, chunk_bytes)
    except IntakeError as error:
        event(f"refused: {error.code}")
        assert error.code in {
            "empty_file",
            "header_only",
            "no_phone_column",
            "binary_file",
            "unknown_encoding",
            "unbalanced_quotes",
            "ragged_rows",
            "invalid_setting",
            "unreadable_xlsx",
        }
        assert str(error)
        if error.line is not None:
            assert str(error).startswith(f"Line {error.line}:")
        return
    event("read, quoted" if b'"' in data else "read, plain")
    found = detected.settings
    expected = csv_records(data, found)
    assert [record.fields for record in records] == expected
    assert all(len(record.fields) == detected.columns for record in records)
    lines = [record.line for record in records]
    assert lines == sorted(set(lines))

    # The marked file: the original bytes once the appended fields are taken out.
    d = found.delimiter
    appended = [f"{d}M{n}{d}{_quoted('a;b|c,d', d)}" for n in range(len(records))]
    encoding = "utf-8" if found.encoding == "utf-8-sig" else found.encoding
    stripped = output
    if found.has_header:
        stripped = stripped.replace(f"{d}dnc_status{d}dnc_reason".encode(), b"", 1)
    # From the end, so "M1" is never taken for the start of "M10".
    for tail in reversed(appended):
        position = stripped.rfind(tail.encode(encoding))
        assert position >= 0
        stripped = stripped[:position] + stripped[position + len(tail.encode(encoding)) :]
    assert stripped == data


def _quoted(value: str, delimiter: str) -> str:
    return f'"{value}"' if delimiter in value else value
