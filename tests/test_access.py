"""Who may open what (STYLE 5, SPEC §3, §16): every portal page and API endpoint × role.

One fixture builds two registers' worth of data: companies A and B in nl, a company in be, and
the people around them. The tables below say, per URL, what each role gets; another company's
object is a 404 (never a 403), an anonymous visitor logs in first, a logged-in user without a
company creates one first, and the accounting role sees invoices only. Add a row per new URL.
"""

import datetime
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from billing.models import Invoice
from billing.services import order_create, payment_start, payment_sync
from campaigns.models import (
    CallFile,
    CallFileStatus,
    Download,
    DownloadKind,
    DownloadStatus,
    FileKind,
)
from complaints.models import CaseAttachment, CaseChannel, CaseKind, Letter
from complaints.services import case_file, case_public_link
from licences.models import Licence, Membership, Role
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    LicenceFactory,
    MembershipFactory,
    UserFactory,
    get_product,
    get_register,
)
from uploads.services import registration_file_upload

pytestmark = pytest.mark.django_db

NL_HOST = "nl.localhost"
LOGIN = "login"  # 302 to the login page
CREATE = "create"  # 302 to "register your company"
ROLES = ("owner", "member", "accounting", "outsider", "other", "foreign", "anonymous")


def page(owner=200, member=200, accounting=404, other=200, outsider=CREATE, foreign=CREATE):
    """A page of the current company: the expectations of a staff page unless overridden.

    `other` is the owner of company B, `outsider` a user without a company, `foreign` a user
    whose only company is in the be register.
    """
    return {
        "owner": owner,
        "member": member,
        "accounting": accounting,
        "outsider": outsider,
        "other": other,
        "foreign": foreign,
        "anonymous": LOGIN,
    }


def objects_of_a(owner=200, member=200, accounting=404):
    """A's own object: B's owner gets a 404, as for anything that is not theirs."""
    return page(owner=owner, member=member, accounting=accounting, other=404)


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


PORTAL = [
    Row("GET", "/account/", page(302, 302, 302, other=302)),
    Row("GET", "/account/signup/", {**dict.fromkeys(ROLES, 302), "anonymous": 200}),
    Row("GET", "/account/login/", {**dict.fromkeys(ROLES, 302), "anonymous": 200}),
    Row("GET", "/account/company/new/", {**dict.fromkeys(ROLES, 200), "anonymous": LOGIN}),
    Row("GET", "/account/company/", page()),
    Row("GET", "/account/company/edit/", page(member=404)),
    Row("GET", "/account/company/members/", page()),
    Row(
        "POST",
        "/account/company/members/{member_of_a}/remove/",
        objects_of_a(owner=302, member=404),
    ),
    Row(
        "POST",
        "/account/company/switch/",
        page(302, 302, 302, other=404, outsider=404, foreign=404),
        data={"company": "{a}"},
    ),
    Row("GET", "/account/licences/", page()),
    # Asking for the upload licence (SPEC §11): the company's staff; the page says the outcome.
    Row("POST", "/account/licences/upload/request/", page(302, 302, other=302)),
    Row("POST", "/account/licences/{licence_of_a}/cancel/", objects_of_a(owner=302, member=404)),
    Row("GET", "/account/api-keys/", page()),
    Row("POST", "/account/api-keys/{key_of_a}/revoke/", objects_of_a(owner=302, member=302)),
    Row("GET", "/campaigns/", page()),
    Row("GET", "/campaigns/new/", page()),
    Row("GET", "/campaigns/{campaign_of_a}/", objects_of_a()),
    # A campaign nobody invited the current company to run.
    Row("POST", "/campaigns/{campaign_of_a}/respond/", objects_of_a(owner=404, member=404)),
    Row("GET", "/campaigns/numbers/", page()),
    Row("GET", "/campaigns/opt-outs/", page()),
    Row("GET", "/campaigns/opt-outs/export/", page()),
    # A number on nobody's list: each company removes from its own list only.
    Row(
        "POST",
        "/campaigns/opt-outs/remove/",
        objects_of_a(owner=404, member=404),
        data={"number": "0612345678"},
    ),
    Row("GET", "/billing/shop/", page()),
    Row("GET", "/billing/orders/{order_of_a}/", objects_of_a()),
    Row("GET", "/billing/orders/{order_of_a}/status/", objects_of_a()),
    Row("GET", "/billing/invoices/", page(accounting=200)),
    Row("GET", "/billing/invoices/{invoice_of_a}/pdf/", objects_of_a(accounting=200)),
    Row("GET", "/billing/invoices/{invoice_of_a}/xml/", objects_of_a(accounting=200)),
    Row("GET", "/cases/", page()),
    Row("GET", "/cases/file/", page()),
    Row("GET", "/cases/{case_of_a}/", objects_of_a()),
    Row("GET", "/cases/{case_of_a}/letters/{letter_of_a}/", objects_of_a()),
    Row("GET", "/cases/{case_of_a}/attachments/{attachment_of_a}/", objects_of_a()),
    # The consumer's pages: open to anyone; the follow link's token is the only key.
    Row("GET", "/cases/new/", dict.fromkeys(ROLES, 200)),
    Row("GET", "/cases/follow/{token_of_a}/", dict.fromkeys(ROLES, 200)),
    Row("GET", "/cases/follow/{token_of_a}/letters/{letter_of_a}/", dict.fromkeys(ROLES, 200)),
    Row(
        "GET",
        "/cases/follow/{token_of_a}/attachments/{attachment_of_a}/",
        dict.fromkeys(ROLES, 200),
    ),
    Row("GET", "/cases/follow/not-a-token/", dict.fromkeys(ROLES, 404)),
    Row("GET", "/registrations/", page()),
    # A holds the upload licence, B does not: B's owner is told so (403).
    Row("GET", "/registrations/new/", page(other=403)),
    Row("GET", "/registrations/{registration_file_of_a}/", objects_of_a()),
    Row("GET", "/downloads/", page()),
    Row("GET", "/history/", page()),
    Row("GET", "/history/?format=csv", page()),
    Row("GET", "/account/for-companies/", dict.fromkeys(ROLES, 200)),
    Row("GET", "/verify/", dict.fromkeys(ROLES, 200)),
    # nl downloads use a campaign's licence and none is chosen: the form comes back.
    Row("POST", "/downloads/", page(), data={"kind": "full"}),
    Row("GET", "/downloads/{download_of_a}/status/", objects_of_a()),
    Row("GET", "/downloads/{download_of_a}/file/", objects_of_a()),
    # Only the call centre running the download's campaign extends it; A is the advertiser.
    Row("POST", "/downloads/{download_of_a}/extend/", objects_of_a(owner=404, member=404)),
    Row("GET", "/campaigns/{campaign_of_a}/call-files/new/", objects_of_a()),
    # No file sent: the form comes back with its message.
    Row("POST", "/campaigns/{campaign_of_a}/call-files/new/", objects_of_a(owner=400, member=400)),
    Row("GET", "/campaigns/call-files/{call_file_of_a}/", objects_of_a()),
    # The file is marked already: its preview leads to its status page.
    Row("GET", "/campaigns/call-files/{call_file_of_a}/preview/", objects_of_a(302, 302)),
    Row("GET", "/campaigns/call-files/{call_file_of_a}/status/", objects_of_a()),
    Row("GET", "/campaigns/call-files/{call_file_of_a}/result/", objects_of_a()),
    Row("GET", "/campaigns/call-files/{call_file_of_a}/certificate/", objects_of_a()),
]

KEYS = ("key_of_a", "key_of_b", "key_of_be", "no_key")


def api(of_a=200, of_b=200, status_of_be=401, no_key=401):
    return {"key_of_a": of_a, "key_of_b": of_b, "key_of_be": status_of_be, "no_key": no_key}


API = [
    Row("GET", "/api/v1/me", api()),
    Row("GET", "/api/v1/campaigns", api()),
    Row("POST", "/api/v1/campaigns", api(201, 201), data={"name": "X", "purpose": "commercial"}),
    Row("GET", "/api/v1/campaigns/{campaign_of_a}", api(of_b=404)),
    Row("GET", "/api/v1/licences", api()),
    Row("GET", "/api/v1/credits", api()),
    Row(
        "POST",
        "/api/v1/orders",
        api(400, 400),
        data={"lines": [{"product": "marking-1", "quantity": 1}]},
    ),
    Row("GET", "/api/v1/orders/{order_of_a}", api(of_b=404)),
    Row("GET", "/api/v1/orders/{order_of_a}/invoice.pdf", api(of_b=404)),
    Row("GET", "/api/v1/orders/{order_of_a}/invoice.xml", api(of_b=404)),
    Row("GET", "/api/v1/numbers/0612345678?campaign={campaign_of_a}", api(of_b=404)),
    # nl checks are paid by a campaign: none named is a 400.
    Row("POST", "/api/v1/numbers/check", api(400, 400), data={"numbers": ["0612345678"]}),
    Row("GET", "/api/v1/opt-outs", api()),
    Row("POST", "/api/v1/opt-outs", api(201, 201), data={"number": "0612345678"}),
    Row("DELETE", "/api/v1/opt-outs/0612345679", api(404, 404)),
    Row("POST", "/api/v1/opt-outs/upload", api(400, 400)),
    Row("GET", "/api/v1/cases", api()),
    Row(
        "POST",
        "/api/v1/cases",
        api(201, 201),
        data={"kind": "request", "subject": "Access", "body": "Who may file?"},
    ),
    Row("GET", "/api/v1/cases/{case_of_a}", api(of_b=404)),
    # A holds the upload licence but sends no file; B holds none.
    Row("POST", "/api/v1/registration-files", api(400, 403)),
    Row("GET", "/api/v1/registration-files/{registration_file_of_a}", api(of_b=404)),
    # Not a company's object: any company of the register may ask.
    Row("GET", "/api/v1/calling-window", api()),
    # nl: each download uses a campaign's download licence; neither A nor B holds one.
    Row("POST", "/api/v1/downloads", api(403, 403), data={"kind": "full"}),
    Row("GET", "/api/v1/downloads/{download_of_a}", api(of_b=404)),
    Row("GET", "/api/v1/downloads/{download_of_a}/file", api(of_b=404)),
    # No file sent (a JSON body): a 400 for A; B may not even see A's campaign.
    Row("POST", "/api/v1/campaigns/{campaign_of_a}/call-files", api(400, 404)),
    Row("GET", "/api/v1/call-files/{call_file_of_a}", api(of_b=404)),
    Row("GET", "/api/v1/call-files/{call_file_of_a}/result", api(of_b=404)),
    Row("GET", "/api/v1/call-files/{call_file_of_a}/certificate", api(of_b=404)),
]


@pytest.fixture(autouse=True)
def _media(media_root):
    """Invoices and uploads of these tests go to a temporary folder."""


def paid_order(fake_mollie, campaign):
    """An order of the campaign's company, paid and invoiced, with (stand-in) PDF and XML."""
    with scopes_disabled():
        order = order_create(
            company=campaign.company,
            lines=[{"product": "marking-1", "quantity": 1, "campaign": campaign}],
        )
        payment = payment_start(order=order, base_url="http://nl.localhost")
        fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
        payment_sync(payment_id=payment.provider_id)
        invoice = Invoice.objects.get(order=order)
        # What matters here is who may download it; the PDF itself is tested in billing.
        invoice.pdf.save("access.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
        invoice.xml.save("access.xml", ContentFile(b"<Invoice/>"), save=False)
        invoice.pdf_rendered_at = timezone.now()
        invoice.save(update_fields=["pdf", "pdf_rendered_at", "xml"])
        return order, invoice


def case_of(company, user) -> dict:
    """A request of the company with an attachment, a sent letter (stand-in PDF) and the token
    of its follow link."""
    with scopes_disabled():
        case = case_file(
            register=company.register,
            kind=CaseKind.REQUEST,
            subject="Access",
            body="Who may see this?",
            filer_email=user.email,
            company=company,
            user=user,
            channel=CaseChannel.PORTAL,
            attachments=[ContentFile(b"evidence", name="evidence.txt")],
        )
        letter = Letter.objects.create(
            register=company.register,
            case=case,
            kind="acknowledgement",
            subject="Access",
            body="Received.",
            sent_at=timezone.now(),
        )
        letter.pdf.save("access.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
        return {
            "case_of_a": case.pk,
            "letter_of_a": letter.pk,
            "attachment_of_a": CaseAttachment.objects.get(case=case).pk,
            "token_of_a": case_public_link(case=case),
        }


def registration_file_of(company) -> dict:
    """The upload licence for the company and a file of it, not yet processed."""
    LicenceFactory(company=company, product=get_product(company.register, "upload"))
    with scopes_disabled():
        registration_file = registration_file_upload(
            company=company,
            upload=ContentFile(
                b"number|categories|requested_on\n0612345678|ALL|2026-03-02\n", name="r.csv"
            ),
        )
    return {"registration_file_of_a": registration_file.pk}


def download_of(company) -> dict:
    """A finished full download of the company, with a (stand-in) file."""
    with scopes_disabled():
        download = Download.objects.create(
            register=company.register,
            company=company,
            kind=DownloadKind.FULL,
            status=DownloadStatus.DONE,
            rows=1,
            valid_until=timezone.localdate() + datetime.timedelta(days=28),
            finished_at=timezone.now(),
        )
        download.file.save("access.txt", ContentFile(b"31612345678;2020-01-01;commercial\n"))
        return {"download_of_a": download.pk}


def call_file_of(campaign, user) -> dict:
    """A marked call file of the campaign's company, with (stand-in) result and certificate."""
    company = campaign.company
    with scopes_disabled():
        call_file = CallFile.objects.create(
            register=company.register,
            company=company,
            campaign=campaign,
            uploaded_by=user,
            filename="access.csv",
            sha256="0" * 64,
            size=12,
            kind=FileKind.DELIMITED,
            encoding="utf-8",
            delimiter=";",
            status=CallFileStatus.DONE,
            progress=100,
            rows_total=1,
            rows_blocked=0,
            rows_callable=1,
            rows_invalid=0,
            rows_out_of_scope=0,
            valid_until=timezone.localdate() + datetime.timedelta(days=28),
            finished_at=timezone.now(),
        )
        call_file.result.save("access.result", ContentFile(b"0612345678;CALLABLE;;+31612345678;\n"))
        call_file.certificate.save("access.pdf", ContentFile(b"%PDF-1.4\n"))
        return {"call_file_of_a": call_file.pk}


@pytest.fixture
def world(fake_mollie, queued_deliveries_ignored):
    nl, be = get_register("nl"), get_register("be")
    a = CompanyFactory(register=nl, name="A B.V.")
    b = CompanyFactory(register=nl, name="B B.V.")
    be_company = CompanyFactory(register=be, name="C BV")
    users = {
        "owner": MembershipFactory(company=a, role=Role.OWNER).user,
        "member": MembershipFactory(company=a, role=Role.MEMBER).user,
        "accounting": MembershipFactory(company=a, role=Role.ACCOUNTING).user,
        "outsider": UserFactory(),
        "other": MembershipFactory(company=b, role=Role.OWNER).user,
        "foreign": MembershipFactory(company=be_company, role=Role.OWNER).user,
        "anonymous": None,
    }
    campaign_of_a = CampaignFactory(company=a)
    CampaignFactory(company=b)
    order_of_a, invoice_of_a = paid_order(fake_mollie, campaign_of_a)
    with scopes_disabled():
        ids = {
            "a": a.pk,
            "member_of_a": Membership.objects.get(user=users["member"]).pk,
            "licence_of_a": Licence.objects.get(company=a).pk,
            "campaign_of_a": campaign_of_a.pk,
            "order_of_a": order_of_a.pk,
            "invoice_of_a": invoice_of_a.pk,
        }
    ids.update(case_of(a, users["owner"]))
    ids.update(registration_file_of(a))
    ids.update(download_of(a))
    ids.update(call_file_of(campaign_of_a, users["owner"]))
    keys = {"key_of_a": "dnc_key_a", "key_of_b": "dnc_key_b", "key_of_be": "dnc_key_be"}
    ids["key_of_a"] = ApiKeyFactory(company=a, raw=keys["key_of_a"]).pk
    ApiKeyFactory(company=b, raw=keys["key_of_b"])
    ApiKeyFactory(company=be_company, raw=keys["key_of_be"])
    return {"users": users, "ids": ids, "keys": keys}


@pytest.fixture
def queued_deliveries_ignored(monkeypatch):
    """Invoice delivery is queued after commit; here nothing needs it delivered."""
    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", lambda invoice_id: None)


def consume(response):
    """Reads a streamed file to its end: the test client then closes it, as a server would."""
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def outcome(response) -> int | str:
    consume(response)
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/account/login/"):
            return LOGIN
        if location == "/account/company/new/":
            return CREATE
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_portal_pages_answer_each_role_as_the_table_says(world, role):
    client = Client(HTTP_HOST=NL_HOST)
    if world["users"][role] is not None:
        client.force_login(world["users"][role])
    got, expected = {}, {}
    for row in PORTAL:
        path = row.path.format(**world["ids"])
        data = {key: value.format(**world["ids"]) for key, value in row.data.items()}
        response = getattr(client, row.method.lower())(path, data)
        got[str(row)], expected[str(row)] = outcome(response), row.expect[role]
    assert got == expected


@pytest.mark.parametrize("key", KEYS)
def test_api_endpoints_answer_each_key_as_the_table_says(world, key):
    client = APIClient(HTTP_HOST=NL_HOST)
    if key != "no_key":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['keys'][key]}")
    got, expected = {}, {}
    for row in API:
        path = row.path.format(**world["ids"])
        response = getattr(client, row.method.lower())(path, row.data, format="json")
        got[str(row)], expected[str(row)] = consume(response).status_code, row.expect[key]
    assert got == expected
