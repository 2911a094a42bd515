"""Billing fixtures: companies that can buy and a record of the invoice deliveries queued after
commit; the fake Mollie comes from tests/conftest.py."""

import pytest
from django_scopes import scopes_disabled

from licences.models import CompanyType, EmployeeBand
from tests.factories import CampaignFactory, CompanyFactory, get_register


@pytest.fixture(autouse=True)
def _media(media_root):
    """Invoice PDFs of billing tests go to a temporary folder."""


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
