"""The API answers as its served schema says (SPEC §16, issues 5 and 17): Schemathesis fuzzes
every operation of `/api/v1/schema` against the Django WSGI app, in process, on the nl host with
the key of a company that holds every kind of licence and plenty of credits.

Checks: no 5xx, a documented status code, the documented content type, and a body that matches
the documented schema, an error's `code` among the values the operation documents for its
status included.

The asynchronous work the API queues (a download, call files and registration files the fuzzing
got accepted) runs on the session's real Celery worker, another process on the test database:
the test is transactional so that the worker sees what the API committed. Once the worker is
done, every job endpoint is fuzzed again with the id of one object in each state it ended in.

Bounded (25 examples per operation), derandomized so a run repeats, and without deadline: a
slow first request is not a failure. Only positive data: negative fuzzing would hold the API to
rejecting inputs the schema merely does not describe. Nothing is left out: the file downloads
are fuzzed too (their ids find nothing, or a file not ready: 404, 409, or gone: 410).

Hypothesis is driven here directly rather than through Schemathesis' pytest integration, which
sets `Function._nodeid`, an attribute pytest 9 no longer has.
"""

import threading
import time

import pytest
import schemathesis
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.db.models import FileField
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
from campaigns.downloads.services import download_request
from campaigns.marking.services import call_file_upload
from campaigns.models import CallFile, Download
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
from uploads.models import RegistrationFile
from uploads.services import registration_file_upload

HOST = "nl.localhost"
KEY = "dnc_schema_key"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fake_mollie(settings):
    """Orders start a payment: the fake Mollie answers them, as in the billing tests."""
    server = FakeMollieServer(host="127.0.0.1", port=0, webhook_timeout=5)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.MOLLIE_API_ENDPOINT = server.public_url
    settings.MOLLIE_API_KEY = "test_" + "s" * 30
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def licensed_company(transactional_db, celery_worker_process, fake_mollie, monkeypatch):
    """An nl company with a campaign holding credits and the marking, download, service and
    upload licences; invoices are left undelivered, other work goes to the real worker."""
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
def stored_files_of_every_model(licensed_company):
    """The worker stores files where the settings put them (it has its own settings, not a
    test's MEDIA_ROOT): every file the test's rows name is deleted afterwards, once the worker
    is done with them."""
    yield
    _wait_for_the_worker(licensed_company)
    with scopes_disabled():
        for model in apps.get_models():
            fields = [field.name for field in model._meta.fields if isinstance(field, FileField)]
            for row in model.objects.all() if fields else ():
                for name in fields:
                    if getattr(row, name).name:
                        getattr(row, name).delete(save=False)


@pytest.fixture
def known_ids(licensed_company, stored_files_of_every_model) -> dict[str, int]:
    """Objects of the company, for the operations that read one: a campaign, an order with its
    payment started, a request to the service desk, and the jobs the real worker runs once
    they are committed: a registration file, a call file it marks and certifies, one it rejects
    (its campaign has no credits), a download."""
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
        call_file, _rejected = (
            call_file_upload(
                company=company,
                campaign=for_campaign,
                uploaded_by=None,
                upload=ContentFile(b"name;phone\nA;0612345678\nB;0201234567\n"),
                filename="schema.csv",
                confirm=True,
            )
            for for_campaign in (campaign, CampaignFactory(company=company))
        )
        download = download_request(company=company, kind="full", campaign=campaign)
    assert _wait_for_the_worker(company), "the worker did not finish the known jobs in time"
    return {
        "campaign_id": campaign.pk,
        "order_id": order.pk,
        "case_id": case.pk,
        "file_id": registration_file.pk,
        "call_file_id": call_file.pk,
        "download_id": download.pk,
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


def test_api_answers_as_its_schema_says(api_schema, licensed_company, known_ids):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = []
    for operation in operations:
        # Generated ids find nothing (404); the company's own objects show the 200 bodies.
        failures += _fuzz_operation(operation, [known_ids], generated=True)
    # The worker has finished what the API queued: each job read in the state it ended in.
    if not _wait_for_the_worker(licensed_company):
        failures.append("the worker did not finish the queued jobs in time")
    in_each_state = _jobs_in_each_state(licensed_company)
    for operation in operations:
        if operation.method.upper() == "GET":
            failures += _fuzz_operation(operation, in_each_state, generated=False)
    assert not failures, "\n\n".join(failures)


def _fuzz_operation(operation, id_sets: list[dict[str, int]], *, generated: bool) -> list[str]:
    names = {parameter.name for parameter in operation.path_parameters}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)] if generated else []
    for ids in id_sets:
        if names and names <= ids.keys():
            strategies.append(
                operation.as_strategy(
                    GenerationMode.POSITIVE,
                    path_parameters={name: ids[name] for name in names},
                )
            )
    failures = []
    for strategy in strategies:
        try:
            _fuzz(strategy)
        # Schemathesis raises its findings as a group (or one AssertionError): collected, so
        # one run reports every operation that disagrees with the schema.
        except (AssertionError, BaseExceptionGroup) as error:
            failures.append(f"{operation.label}: {error}")
    return failures


# The jobs a worker runs, by the path parameter that names one.
JOBS = {"call_file_id": CallFile, "download_id": Download, "file_id": RegistrationFile}
PENDING = ("queued", "running")


def _wait_for_the_worker(company, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    with scopes_disabled():
        while any(
            model.objects.filter(company=company, status__in=PENDING).exists()
            for model in JOBS.values()
        ):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.25)
    return True


def _jobs_in_each_state(company) -> list[dict[str, int]]:
    """One id a state for each kind of job: `[{"call_file_id": 3}, {"download_id": 5}, …]`."""
    id_sets = []
    with scopes_disabled():
        for name, model in JOBS.items():
            first_in_state = {}
            for pk, state in model.objects.filter(company=company).values_list("pk", "status"):
                first_in_state.setdefault(state, pk)
            id_sets += [{name: pk} for pk in first_in_state.values()]
    return id_sets


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
