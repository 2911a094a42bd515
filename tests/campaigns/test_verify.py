"""Certificates of consultation anyone can verify (SPEC §8.7, §16): signed by the register with
PAdES, a reference and a QR code on them, and /verify/ by reference and hash or by the PDF."""

import datetime
import io

import pytest
from asn1crypto import pem, x509
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from campaigns.marking.retention import call_files_purge
from campaigns.marking.signing import signing_certificate_pem
from campaigns.models import CallFile, CallFileStatus
from campaigns.verify.selectors import reference_normalise
from register.models import ALL_CATEGORIES
from tests.campaigns.test_marking import mark, set_balance, upload
from tests.factories import (
    CampaignFactory,
    CompanyFactory,
    LicenceFactory,
    get_product,
    register_numbers,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root", "fresh_rate_limits")]

# The pages in English, so the assertions read as the template's own words.
NL = {"HTTP_HOST": "nl.localhost", "HTTP_ACCEPT_LANGUAGE": "en"}
FILE = b"telefoon\n0612345601\n0612345602\n12\n+32470123456\n"


def certificate_bytes(call_file) -> bytes:
    with call_file.certificate.open("rb") as certificate:
        return certificate.read()


def verify_json(client, reference, sha256, host=NL):
    answer = client.get(
        "/verify/", {"reference": reference, "sha256": sha256, "format": "json"}, **host
    )
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture
def marked(nl):
    """A finished nl scrub: one registered, one callable, one invalid, one foreign."""
    campaign = CampaignFactory(company=CompanyFactory(register=nl, name="Belt & Co B.V."))
    set_balance(campaign, 100)
    register_numbers(nl, {31612345601: ALL_CATEGORIES}, registered_on=datetime.date(2015, 3, 2))
    call_file = mark(upload(campaign, FILE, filename="maart.csv"))
    assert call_file.status == CallFileStatus.DONE, call_file.error_message
    return call_file


def test_the_certificate_is_signed_by_the_register_and_validates_with_pyhanko(marked):
    reader = PdfFileReader(io.BytesIO(certificate_bytes(marked)))
    (signature,) = reader.embedded_signatures
    _kind, _headers, der = pem.unarmor(signing_certificate_pem())
    context = ValidationContext(trust_roots=[x509.Certificate.load(der)])

    status = validate_pdf_signature(signature, context)

    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (True,) * 4
    assert status.coverage.name == "ENTIRE_FILE"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES


def test_the_certificate_carries_its_reference_and_where_to_verify_it(marked):
    text = " ".join(
        PdfReader(io.BytesIO(certificate_bytes(marked))).pages[0].extract_text().split()
    )
    reference = marked.certificate_reference

    assert reference.startswith("NL-") and reference_normalise(reference.lower()) == reference
    assert f"Kenmerk / Reference {reference}" in text
    # The QR code's address, in words for whoever reads it on paper.
    assert "https://nl.localhost/verify/" in text
    assert len(marked.certificate_sha256) == 64


def test_verify_by_reference_and_hash_answers_what_the_register_issued(client, marked):
    answer = verify_json(client, marked.certificate_reference, marked.sha256)

    assert answer == {
        "valid": True,
        "company": "Belt & Co B.V.",
        "file_name": "maart.csv",
        "file_sha256": marked.sha256,
        "marked_at": marked.finished_at.astimezone(marked.register.zone).isoformat(),
        "counts": {"blocked": 1, "callable": 1, "invalid": 1, "out_of_scope": 1},
    }
    # As typed from paper: lower case, spaces, an upper-case hash.
    typed = marked.certificate_reference.lower().replace("-", " ")
    assert verify_json(client, typed, marked.sha256.upper())["valid"] is True


def test_the_verify_page_shows_the_facts_and_nothing_more(client, marked):
    page = client.get(
        "/verify/", {"reference": marked.certificate_reference, "sha256": marked.sha256}, **NL
    )

    assert page.status_code == 200
    text = page.text
    assert "Bel-me-niet Register issued this certificate" in text
    for shown in ("Belt &amp; Co B.V.", "maart.csv", marked.sha256):
        assert shown in text
    # Not the campaign, not the credits, not the numbers.
    assert marked.campaign.name not in text
    assert "0612345601" not in text


@pytest.mark.parametrize(
    ("reference", "sha256"),
    [
        ("right", "0" * 64),  # another file's hash
        ("NL-2222-2222", "right"),  # another reference
        ("right", "not a hash"),
        ("", ""),
        ("right", ""),
    ],
)
def test_a_wrong_reference_or_hash_is_not_valid(client, marked, reference, sha256):
    reference = marked.certificate_reference if reference == "right" else reference
    sha256 = marked.sha256 if sha256 == "right" else sha256

    assert verify_json(client, reference, sha256) == {"valid": False}
    page = client.get("/verify/", {"reference": reference, "sha256": sha256}, **NL)
    assert page.status_code == 200
    assert "issued this certificate" not in page.text


def test_without_a_question_json_answers_not_valid(client, db):
    answer = client.get("/verify/", {"format": "json"}, **NL)
    assert (answer.status_code, answer.json()) == (200, {"valid": False})


def test_verify_by_the_pdf_itself(client, marked):
    pdf = SimpleUploadedFile("certificaat.pdf", certificate_bytes(marked), "application/pdf")

    answer = client.post("/verify/", {"pdf": pdf}, **NL)

    assert answer.status_code == 302
    page = client.get(answer["Location"], **NL)
    assert "Bel-me-niet Register issued this certificate" in page.text
    assert "maart.csv" in page.text


@pytest.mark.parametrize("where", ["text", "signature", "last"])
def test_a_pdf_changed_by_one_byte_is_refused(client, marked, where):
    content = bytearray(certificate_bytes(marked))
    position = {
        "text": content.index(b"/Producer") + 2,
        "signature": content.index(b"/Contents <") + 20,
        "last": len(content) - 2,
    }[where]
    content[position] ^= 0x01
    pdf = SimpleUploadedFile("certificaat.pdf", bytes(content), "application/pdf")

    answer = client.post("/verify/", {"pdf": pdf}, **NL)

    assert answer.status_code == 302
    page = client.get(answer["Location"], **NL)
    assert "This PDF is not a certificate issued by Bel-me-niet Register" in page.text
    assert "issued this certificate" not in page.text


def test_a_file_that_is_not_a_pdf_or_too_large_gets_a_message(client, db):
    answer = client.post("/verify/", {}, **NL)
    assert answer.status_code == 400
    assert "This field is required." in answer.text
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * (5 * 1024 * 1024), "application/pdf")
    answer = client.post("/verify/", {"pdf": big}, **NL)
    assert answer.status_code == 400
    assert "too large to be a certificate" in answer.text


@pytest.mark.parametrize(
    "status", [CallFileStatus.QUEUED, CallFileStatus.RUNNING, CallFileStatus.FAILED]
)
def test_a_scrub_without_a_finished_certificate_is_not_valid(client, nl, status):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    set_balance(campaign, 100)
    call_file = upload(campaign, FILE)
    with scopes_disabled():
        CallFile.objects.filter(pk=call_file.pk).update(status=status)

    assert verify_json(client, "NL-2222-2222", call_file.sha256) == {"valid": False}


def test_a_rejected_scrub_has_no_certificate_to_verify(client, nl):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    set_balance(campaign, 1)  # too few credits for four records
    call_file = mark(upload(campaign, FILE))

    assert call_file.status == CallFileStatus.REJECTED
    assert (call_file.certificate_reference, call_file.certificate.name) == ("", "")
    assert verify_json(client, "NL-2222-2222", call_file.sha256) == {"valid": False}


def test_after_the_use_period_the_certificate_still_verifies_and_says_so(client, marked):
    with scopes_disabled():
        call_files_purge(register=marked.register, today=marked.valid_until + datetime.timedelta(1))
        assert CallFile.objects.get(pk=marked.pk).files_deleted_at is not None

    assert verify_json(client, marked.certificate_reference, marked.sha256)["valid"] is True
    page = client.get(
        "/verify/", {"reference": marked.certificate_reference, "sha256": marked.sha256}, **NL
    )
    assert "its files are deleted; the certificate remains the proof" in page.text


def test_another_registers_certificate_is_not_valid_here(client, be):
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    call_file = mark(upload(CampaignFactory(company=company), b"telefoon\n0470123456\n"))
    assert call_file.certificate_reference.startswith("BE-")
    be_host = {"HTTP_HOST": "be.localhost"}

    assert verify_json(client, call_file.certificate_reference, call_file.sha256, be_host)["valid"]
    assert verify_json(client, call_file.certificate_reference, call_file.sha256) == {
        "valid": False
    }
    pdf = SimpleUploadedFile("c.pdf", certificate_bytes(call_file), "application/pdf")
    answer = client.post("/verify/", {"pdf": pdf}, **NL)
    assert answer["Location"].endswith("?pdf=refused")


def test_verify_is_rate_limited(client, marked, settings):
    settings.CERTIFICATE_VERIFY_RATE = "2/m"
    for _ in range(2):
        assert verify_json(client, marked.certificate_reference, marked.sha256)["valid"]

    answer = client.get(
        "/verify/",
        {"reference": marked.certificate_reference, "sha256": marked.sha256, "format": "json"},
        **NL,
    )
    assert answer.status_code == 429
    assert answer.json()["code"] == "rate_limited"
    assert client.get("/verify/", **NL).status_code == 200  # the empty form is not counted
    pdf = SimpleUploadedFile("c.pdf", certificate_bytes(marked), "application/pdf")
    assert client.post("/verify/", {"pdf": pdf}, **NL).status_code == 429


def test_verify_speaks_the_registers_languages(client, be):
    page = client.get("/verify/", HTTP_HOST="be.localhost", HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200
    assert 'lang="fr"' in page.text
    assert "Vérifier une attestation de consultation" in page.text
