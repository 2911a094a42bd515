"""A workbook whose `<dimension>` lies (issue 10, item 6): 2 MB on disk, twelve million rows in
its sheet, declared as A1:B2. Its cells are counted as the XML is decompressed and counting stops
at the cap, in the web request and in the worker alike: refused with 413 and the advice to save
it as CSV, quickly and without loading the sheet.
"""

import datetime
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory, CampaignFactory, CompanyFactory, get_register
from uploads.intake import xlsx

ROOT = Path(__file__).resolve().parents[2]
ROWS = 12_000_000
MEMORY_LIMIT = 300 * 1024 * 1024

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    b'+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
PACKAGE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Lijst" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def lying_workbook(path: Path, rows: int) -> Path:
    """A workbook of `rows` rows of two numbers whose sheet declares A1:B2."""
    row = b"<row><c><v>612345678</v></c><c><v>1</v></c></row>"
    block = row * 100_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as workbook:
        workbook.writestr("[Content_Types].xml", CONTENT_TYPES)
        workbook.writestr("_rels/.rels", PACKAGE_RELS)
        workbook.writestr("xl/workbook.xml", WORKBOOK)
        workbook.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with workbook.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<dimension ref="A1:B2"/><sheetData>'
            )
            for _ in range(rows // 100_000):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return lying_workbook(tmp_path_factory.mktemp("bomb") / "lijst.xlsx", ROWS)


def test_the_bomb_is_small_and_lies(bomb):
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with zipfile.ZipFile(bomb) as workbook, workbook.open("xl/worksheets/sheet1.xml") as sheet:
        assert b'<dimension ref="A1:B2"/>' in sheet.read(300)


@pytest.mark.django_db
def test_the_api_refuses_the_bomb_with_413_quickly(bomb, media_root):
    company = CompanyFactory(register=get_register("nl"))
    campaign = CampaignFactory(company=company)
    ApiKeyFactory(company=company, raw="dnc_bomb_key")
    client = APIClient(HTTP_HOST="nl.localhost")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_bomb_key")

    started = time.monotonic()
    answer = client.post(
        f"/api/v1/campaigns/{campaign.pk}/call-files",
        {"file": SimpleUploadedFile("lijst.xlsx", bomb.read_bytes())},
        format="multipart",
    )
    took = time.monotonic() - started

    print(f"\nXLSX bomb through the API: {answer.status_code} in {took:.2f} s")
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"
    assert "CSV" in answer.json()["detail"]
    assert took < 5


# Each path in a fresh process, whose peak resident memory is its own: the web request's
# detection and the worker's reading of the records.
MEASURE = """
import json, sys, django
django.setup()
from pathlib import Path
from uploads.intake import FileSettings, IntakeError, intake_detect, intake_records
path = Path(sys.argv[1])
try:
    if sys.argv[2] == "web":
        intake_detect(path, filename="lijst.xlsx")
    else:
        settings = FileSettings(
            kind="xlsx", encoding="", delimiter="", has_header=False, phone_column=1,
            opt_in_column=None,
        )
        for _ in intake_records(path, settings):
            pass
    code = None
except IntakeError as error:
    code = error.code
# VmHWM is this program's own peak; getrusage's maxrss would include the test process that
# started it (Linux carries it over fork and exec).
peak = next(
    int(line.split()[1]) * 1024
    for line in open("/proc/self/status")
    if line.startswith("VmHWM:")
)
print(json.dumps({"code": code, "peak": peak}))
"""


@pytest.mark.parametrize("path", ["web", "worker"])
def test_the_bomb_is_refused_within_300_mb(bomb, path):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(bomb), path],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    took = time.monotonic() - started
    outcome = json.loads(result.stdout.strip().splitlines()[-1])

    print(f"\nXLSX bomb, {path}: refused in {took:.2f} s, peak {outcome['peak'] / 2**20:.0f} MB")
    assert outcome["code"] == "too_large"
    assert outcome["peak"] < MEMORY_LIMIT


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
@pytest.mark.parametrize("rows", [1, 3, 50])
def test_the_first_rows_of_a_workbook_read_as_in_the_whole(tmp_path, monkeypatch, chunk, rows):
    """Detection reads a copy cut after the first rows: those rows, with their sheet row
    numbers, dates, strings and blanks, read exactly as in the whole workbook."""
    path = tmp_path / "lijst.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    date = book.add_format({"num_format": "dd-mm-yyyy"})
    sheet.write_row(0, 0, ["naam", "telefoon", "opt-in"])
    for row in range(1, 40):
        if row % 7:
            sheet.write_row(row, 0, [f"Klant <{row}> & co", f"06{row:08d}"])
            sheet.write_datetime(row, 2, datetime.date(2025, 1, row % 28 + 1), date)
    book.close()
    monkeypatch.setattr(xlsx, "_CHUNK", chunk)

    whole = list(xlsx.xlsx_texts(path))
    with xlsx.xlsx_first_rows(path, rows) as head:
        first = list(xlsx.xlsx_texts(head))

    assert first == [(line, fields) for line, fields in whole if line <= rows]
    if rows > 1:
        assert any("2025-01" in field for _line, fields in first for field in fields)
