"""Billing fixtures: the real fake Mollie on a free port, companies that can buy, and a record
of the invoice deliveries queued after commit."""

import threading
from collections.abc import Iterator

import pytest
from django_scopes import scopes_disabled

from billing.fake_mollie import FakeMollieServer
from licences.models import CompanyType, EmployeeBand
from tests.factories import CampaignFactory, CompanyFactory, get_register

API_KEY = "test_" + "b" * 30


@pytest.fixture
def fake_mollie(settings, tmp_path) -> Iterator[FakeMollieServer]:
    """The fake Mollie server in a thread; the real mollie client is pointed at it."""
    server = FakeMollieServer(host="127.0.0.1", port=0, webhook_timeout=30)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.MOLLIE_API_ENDPOINT = server.public_url
    settings.MOLLIE_API_KEY = API_KEY
    settings.MEDIA_ROOT = tmp_path / "media"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def queued_deliveries(monkeypatch) -> list[int]:
    """Invoice ids handed to the delivery task (after commit), instead of to the broker."""
    queued: list[int] = []
    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", queued.append)
    return queued


@pytest.fixture
def nl_company(db):
    return CompanyFactory(
        register=get_register("nl"), name="Bakkerij De Korenschoof B.V.", vat_id="NL001234567B01"
    )


@pytest.fixture
def nl_campaign(nl_company):
    return CampaignFactory(company=nl_company, name="Voorjaarsactie")


@pytest.fixture
def be_company(db):
    return CompanyFactory(
        register=get_register("be"),
        name="Belbureau Brussel BV",
        vat_id="BE0123456789",
        company_type=CompanyType.ADVERTISER,
        employee_band=EmployeeBand.UP_TO_250,
    )


@pytest.fixture
def unscoped():
    with scopes_disabled():
        yield
