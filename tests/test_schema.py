"""The API answers as its served schema says (SPEC §16, issue 5): Schemathesis fuzzes every
operation of `/api/v1/schema` against the Django WSGI app, in process, on the nl host with the
key of a company that holds every kind of licence and plenty of credits.

Checks: no 5xx, a documented status code, the documented content type, and a body that matches
the documented schema. Bounded (25 examples per operation), derandomized so a run repeats, and
without deadline: a slow first request is not a failure. Only positive data: negative fuzzing
would hold the API to rejecting inputs the schema merely does not describe. Nothing is left
out: the file downloads are fuzzed too (their ids find nothing, or a file not ready: 404, 409).

Hypothesis is driven here directly rather than through Schemathesis' pytest integration, which
sets `Function._nodeid`, an attribute pytest 9 no longer has.
"""

import threading

import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing.fake_mollie import FakeMollieServer
from billing.services import order_create, payment_start
from campaigns.marking.certificate import call_file_certificate_render
from campaigns.marking.job import call_file_mark
from campaigns.marking.services import call_file_upload
from complaints.models import CaseChannel, CaseKind
from complaints.services import case_file
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    get_product,
    get_register,
)
from uploads.services import registration_file_process, registration_file_upload

HOST = "nl.localhost"
KEY = "dnc_schema_key"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fake_mollie(settings, tmp_path):
    """Orders start a payment: the fake Mollie answers them, as in the billing tests."""
    server = FakeMollieServer(host="127.0.0.1", port=0, webhook_timeout=5)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.MOLLIE_API_ENDPOINT = server.public_url
    settings.MOLLIE_API_KEY = "test_" + "s" * 30
    settings.MEDIA_ROOT = tmp_path / "media"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def licensed_company(db, fake_mollie, monkeypatch):
    """An nl company with a campaign holding credits and the marking, download, service and
    upload licences; work queued after commit (invoices, files) is left unqueued."""
    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", lambda invoice_id: None)
    nl = get_register("nl")
    company = CompanyFactory(register=nl, name="Schema B.V.")
    campaign = CampaignFactory(company=company)
    CreditAccountFactory(campaign=campaign, balance=1_000_000)
    for code in ("marking-3", "download", "upload"):
        LicenceFactory(company=company, product=get_product(nl, code), campaign=campaign)
    LicenceFactory(company=company, product=get_product(nl, "service"))
    ApiKeyFactory(company=company, raw=KEY)
    return company


@pytest.fixture
def known_ids(licensed_company, media_root) -> dict[str, int]:
    """Objects of the company, for the operations that read one: a campaign, an order with its
    payment started, a request to the service desk, a processed registration file and a marked
    call file with its certificate."""
    company = licensed_company
    with scopes_disabled():
        campaign = company.campaigns.get()
        order = order_create(
            company=company, lines=[{"product": "marking-1", "quantity": 1, "campaign": campaign}]
        )
        payment_start(order=order, base_url=f"http://{HOST}")
        case = case_file(
            register=company.register,
            kind=CaseKind.REQUEST,
            subject="Schema",
            body="A question.",
            filer_email="schema@example.com",
            company=company,
            channel=CaseChannel.API,
        )
        registration_file = registration_file_upload(
            company=company,
            upload=ContentFile(
                b"number|categories|requested_on\n0612345678|ALL|2026-03-02\n12|ALL|x\n",
                name="schema.csv",
            ),
        )
        registration_file_process(file_id=registration_file.pk)
        call_file = call_file_upload(
            company=company,
            campaign=campaign,
            uploaded_by=None,
            upload=ContentFile(b"name;phone\nA;0612345678\nB;0201234567\n"),
            filename="schema.csv",
            confirm=True,
        )
        call_file_mark(call_file_id=call_file.pk)
        call_file_certificate_render(call_file_id=call_file.pk)
    return {
        "campaign_id": campaign.pk,
        "order_id": order.pk,
        "case_id": case.pk,
        "file_id": registration_file.pk,
        "call_file_id": call_file.pk,
    }


def _closing(application):
    """Closes each response once its body is read, as a WSGI server must: schemathesis reads
    the body but leaves the closing out, so a served file (FileResponse) would stay open."""

    def closing_application(environ, start_response):
        response = application(environ, start_response)
        try:
            yield from response
        finally:
            response.close()

    return closing_application


@pytest.fixture
def api_schema(licensed_company):
    """The schema as the app serves it. The real WSGI handler closes the database connection
    when a request ends, which would end the test's transaction: Django's test client keeps it
    open the same way, by leaving out close_old_connections."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        with scopes_disabled():
            schema = schemathesis.openapi.from_wsgi(
                "/api/v1/schema", _closing(get_wsgi_application()), headers={"Host": HOST}
            )
        yield schema
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def test_api_answers_as_its_schema_says(api_schema, known_ids):
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        names = {parameter.name for parameter in operation.path_parameters}
        if names and names <= known_ids.keys():
            # Generated ids find nothing (404); the company's own objects show the 200 bodies.
            strategies.append(
                operation.as_strategy(
                    GenerationMode.POSITIVE,
                    path_parameters={name: known_ids[name] for name in names},
                )
            )
        for strategy in strategies:
            try:
                _fuzz(strategy)
            # Schemathesis raises its findings as a group (or one AssertionError): collected,
            # so one run reports every operation that disagrees with the schema.
            except (AssertionError, BaseExceptionGroup) as error:
                failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)


def _fuzz(strategy) -> None:
    @given(case=strategy)
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(
            headers={"Host": HOST, "Authorization": f"Bearer {KEY}"}, checks=CHECKS
        )

    run()
