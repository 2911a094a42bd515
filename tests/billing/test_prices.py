"""Order prices by the catalogue (SPEC §7, §12): every row of seeds 000 and 001, excl. and
incl. 21% VAT, for the company type and size the catalogue offers it to."""

from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from billing.services import order_create, vat_of
from licences.models import CompanyType, EmployeeBand
from register.errors import DomainError, NotFound
from tests.factories import CampaignFactory, CompanyFactory, get_register

pytestmark = pytest.mark.django_db

ADV, SP = CompanyType.ADVERTISER, CompanyType.SERVICE_PROVIDER
SMALL, LARGE = EmployeeBand.UP_TO_250, EmployeeBand.OVER_250

PRICES = [
    # register, code, company type, size, excl. VAT, VAT 21%, incl. VAT
    # seed 000 (nl); marking and download are bought for a campaign
    ("nl", "marking-1", ADV, SMALL, "175.00", "36.75", "211.75"),
    ("nl", "marking-2", ADV, LARGE, "400.00", "84.00", "484.00"),
    ("nl", "marking-3", ADV, SMALL, "825.00", "173.25", "998.25"),
    ("nl", "download", ADV, SMALL, "550.00", "115.50", "665.50"),
    ("nl", "service", SP, SMALL, "1200.00", "252.00", "1452.00"),
    # the upload licence is not sold: staff grant it (tests/portal/test_upload_licence.py)
    # seed 001 (be): priced by company type and size
    ("be", "advertiser-large", ADV, LARGE, "2200.00", "462.00", "2662.00"),
    ("be", "advertiser-small", ADV, SMALL, "760.00", "159.60", "919.60"),
    ("be", "provider-large", SP, LARGE, "1500.00", "315.00", "1815.00"),
    ("be", "provider-small", SP, SMALL, "720.00", "151.20", "871.20"),
    ("be", "advertiser-month", ADV, LARGE, "80.00", "16.80", "96.80"),
]


@pytest.mark.parametrize(
    ("register", "code", "company_type", "band", "excl", "vat", "incl"),
    PRICES,
    ids=[f"{row[0]}-{row[1]}" for row in PRICES],
)
def test_order_is_priced_by_the_catalogue(register, code, company_type, band, excl, vat, incl):
    company = CompanyFactory(
        register=get_register(register), company_type=company_type, employee_band=band
    )
    campaign = (
        CampaignFactory(company=company)
        if code in ("marking-1", "marking-2", "marking-3", "download")
        else None
    )

    with scopes_disabled():
        order = order_create(
            company=company, lines=[{"product": code, "quantity": 1, "campaign": campaign}]
        )
        line = order.lines.get()

    assert (line.unit_price, line.total_excl_vat, line.vat_amount) == (
        Decimal(excl),
        Decimal(excl),
        Decimal(vat),
    )
    assert (order.total_excl_vat, order.vat_amount, order.total_incl_vat) == (
        Decimal(excl),
        Decimal(vat),
        Decimal(incl),
    )
    assert order.vat_rate == Decimal("21.00")


@pytest.mark.parametrize(
    ("register", "code", "company_type", "band"),
    [
        ("nl", "service", ADV, SMALL),  # the service licence is for call centres
        ("be", "advertiser-large", ADV, SMALL),
        ("be", "advertiser-small", ADV, LARGE),
        ("be", "provider-small", ADV, SMALL),
        ("be", "advertiser-month", SP, SMALL),
        ("be", "marking-1", ADV, SMALL),  # another register's product
    ],
)
def test_product_not_offered_to_the_company_is_refused(register, code, company_type, band):
    company = CompanyFactory(
        register=get_register(register), company_type=company_type, employee_band=band
    )

    with scopes_disabled(), pytest.raises(DomainError) as raised:
        order_create(company=company, lines=[{"product": code, "quantity": 1}])

    assert (raised.value.code, raised.value.status) == ("product_not_offered", 400)


def test_quantities_multiply_and_lines_add_up(nl_company, nl_campaign):
    with scopes_disabled():
        order = order_create(
            company=nl_company,
            lines=[
                {"product": "marking-1", "quantity": 3, "campaign": nl_campaign},
                {"product": "download", "quantity": 1, "campaign": nl_campaign},
            ],
        )

    assert order.total_excl_vat == Decimal("1075.00")
    assert order.vat_amount == Decimal("225.75")
    assert order.total_incl_vat == Decimal("1300.75")


def test_nl_marking_needs_a_campaign(nl_company):
    with scopes_disabled(), pytest.raises(DomainError) as raised:
        order_create(company=nl_company, lines=[{"product": "marking-1", "quantity": 1}])

    assert raised.value.code == "campaign_required"


def test_another_companys_campaign_is_not_found(nl_company):
    foreign = CampaignFactory(company=CompanyFactory(register=get_register("nl")))

    with scopes_disabled(), pytest.raises(NotFound):
        order_create(
            company=nl_company,
            lines=[{"product": "marking-1", "quantity": 1, "campaign": foreign}],
        )


@pytest.mark.parametrize("quantity", [0, -1, 101, "2"])
def test_quantity_out_of_range_is_refused(nl_company, nl_campaign, quantity):
    with scopes_disabled(), pytest.raises(DomainError) as raised:
        order_create(
            company=nl_company,
            lines=[{"product": "marking-1", "quantity": quantity, "campaign": nl_campaign}],
        )

    assert raised.value.code == "invalid_quantity"


@pytest.mark.parametrize(
    ("amount", "vat"),
    [("0.50", "0.11"), ("0.10", "0.02"), ("1.02", "0.21"), ("0.07", "0.01"), ("0.02", "0.00")],
)
def test_vat_is_rounded_half_up_to_the_cent(amount, vat):
    # 0.50 × 21% = 0.105 → 0.11; 0.02 × 21% = 0.0042 → 0.00
    assert vat_of(Decimal(amount), Decimal("21.00")) == Decimal(vat)
