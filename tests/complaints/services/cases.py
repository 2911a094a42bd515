"""Helpers of the case service tests: file a case with defaults, take a step with its
on-commit callbacks run, read a letter's PDF and a case's timeline."""

import io
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from complaints import services
from complaints.models import CaseKind, Letter

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SUSPENDS_EN = "does not suspend any obligation"
SUSPENDS_NL = "geen opschortende werking"
# Staff reminders are written in the register's default language: Dutch for nl.
OVERDUE_NL = "VERLOPEN"


def file_case(nl, **kwargs):
    values = {
        "register": nl,
        "kind": CaseKind.REQUEST,
        "subject": "Still called",
        "body": "I am registered but a company keeps calling me.",
        "filer_email": "jan@example.com",
        "filer_name": "Jan Jansen",
        "channel": "portal",
        "language": "en",
    }
    return services.case_file(**{**values, **kwargs})


def run(step, capture, **kwargs):
    with capture(execute=True):
        return step(**kwargs)


def pdf_text(letter: Letter) -> str:
    with letter.pdf.open("rb") as pdf:
        reader = PdfReader(io.BytesIO(pdf.read()))
        return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def actions(case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("action", flat=True))
