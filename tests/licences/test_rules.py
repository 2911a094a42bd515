"""The licence rules of seeds 000 (nl) and 001 (be), one table row per rule (SPEC §7)."""

import datetime
import zoneinfo

import pytest
from django_scopes import scope, scopes_disabled

from licences.models import (
    CompanyType,
    EmployeeBand,
    Licence,
    LicenceSource,
    LicenceStatus,
)
from licences.selectors import (
    credit_balances,
    licences_due_for_renewal,
    licences_due_for_renewal_notice,
    products_for_company,
)
from licences.services import (
    licence_cancel,
    licence_renew,
    licences_activate,
    licences_expire,
)
from register.errors import DomainError
from tests.factories import CampaignFactory, CompanyFactory, get_product, get_register

pytestmark = pytest.mark.django_db

D = datetime.date
PROVIDER = CompanyType.SERVICE_PROVIDER
ADVERTISER = CompanyType.ADVERTISER
SMALL, LARGE = EmployeeBand.UP_TO_250, EmployeeBand.OVER_250


START = D(2026, 1, 1)


def activate(slug: str, code: str) -> Licence:
    """The licence of one paid order line for a company the product is for, from 1 January."""
    register = get_register(slug)
    product = get_product(register, code)
    company = CompanyFactory(
        register=register,
        company_type=product.company_type or ADVERTISER,
        employee_band=product.employee_band or SMALL,
    )
    campaign = CampaignFactory(company=company) if product.requires_campaign else None
    with scope(register=register):
        (licence,) = licences_activate(
            company=company,
            product=product,
            campaign=campaign,
            # The upload licence is granted by staff, never ordered (SPEC §11).
            source=LicenceSource.ORDER if product.for_sale else LicenceSource.GRANT,
            reference="order:1",
            starts_on=START,
        )
    return licence


def at_noon(day: datetime.date, slug: str) -> datetime.datetime:
    zone = zoneinfo.ZoneInfo("Europe/Amsterdam" if slug == "nl" else "Europe/Brussels")
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=zone)


@pytest.mark.parametrize(
    ("slug", "code", "ends_on", "renews"),
    [
        # seed 000: a marking balance lasts while it lasts and carries over; no renewal, no end.
        ("nl", "marking-1", None, False),
        ("nl", "marking-3", None, False),
        # seed 000: the upload licence is free and has no term.
        ("nl", "upload", None, False),
        # seed 000: the service licence is €1,200 a year and renews unless cancelled.
        ("nl", "service", D(2026, 12, 31), True),
        # seed 001: annual licences renew tacitly for a year.
        ("be", "advertiser-small", D(2026, 12, 31), True),
        ("be", "provider-large", D(2026, 12, 31), True),
        # seed 001: the one-month advertiser licence ends after a month and does not renew.
        ("be", "advertiser-month", D(2026, 1, 31), False),
    ],
)
def test_a_licence_is_usable_at_once_for_its_term(slug, code, ends_on, renews):
    # seed 000 "Direct na betaling", seed 001 "na ontvangst van bestelling én betaling".
    licence = activate(slug, code)
    assert (licence.status, licence.starts_on) == (LicenceStatus.ACTIVE, D(2026, 1, 1))
    assert (licence.ends_on, licence.renews) == (ends_on, renews)


def test_credits_of_several_marking_licences_add_up_in_the_campaign():
    # seed 000: "marking licences 1 and 2 ... the records add up: 35,000".
    nl = get_register("nl")
    campaign = CampaignFactory(company__register=nl)
    with scope(register=nl):
        for number, code in enumerate(["marking-1", "marking-2"]):
            licences_activate(
                company=campaign.company,
                product=get_product(nl, code),
                campaign=campaign,
                source=LicenceSource.ORDER,
                reference=f"order:{number}",
            )
        balances = credit_balances(company=campaign.company)
    assert balances["balance"] == 35_000
    assert [row["balance"] for row in balances["campaigns"]] == [35_000]


def test_activating_the_same_reference_twice_creates_and_credits_once():
    nl = get_register("nl")
    campaign = CampaignFactory(company__register=nl)
    arguments = {
        "company": campaign.company,
        "product": get_product(nl, "marking-1"),
        "quantity": 2,
        "campaign": campaign,
        "source": LicenceSource.ORDER,
        "reference": "order:7:line:1",
    }
    with scope(register=nl):
        first = licences_activate(**arguments)
        again = licences_activate(**arguments)
        balance = credit_balances(company=campaign.company)["balance"]
    assert len(first) == 2
    assert {licence.pk for licence in again} == {licence.pk for licence in first}
    assert balance == 20_000


@pytest.mark.parametrize(
    ("slug", "code", "cancel_on", "allowed"),
    [
        # seed 000: cancel at least 2 months before the renewal date (1 January 2027).
        ("nl", "service", D(2026, 11, 1), True),
        ("nl", "service", D(2026, 11, 2), False),
        # seed 001: cancel at the latest one month before expiry.
        ("be", "advertiser-large", D(2026, 12, 1), True),
        ("be", "advertiser-large", D(2026, 12, 2), False),
    ],
)
def test_a_renewing_licence_can_be_cancelled_until_its_deadline(slug, code, cancel_on, allowed):
    licence = activate(slug, code)
    with scope(register=licence.register):
        if allowed:
            cancelled = licence_cancel(licence=licence, when=at_noon(cancel_on, slug))
            assert (cancelled.status, cancelled.renews) == (LicenceStatus.CANCELLED, False)
        else:
            with pytest.raises(DomainError) as raised:
                licence_cancel(licence=licence, when=at_noon(cancel_on, slug))
            assert raised.value.code == "cancellation_too_late"


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        # seed 000: a marking licence does not renew, so it has nothing to cancel.
        ("nl", "marking-1"),
        # seed 001: the month licence does not renew.
        ("be", "advertiser-month"),
    ],
)
def test_a_licence_that_does_not_renew_cannot_be_cancelled(slug, code):
    licence = activate(slug, code)
    with scope(register=licence.register), pytest.raises(DomainError) as raised:
        licence_cancel(licence=licence, when=at_noon(D(2026, 1, 2), slug))
    assert raised.value.code == "licence_does_not_renew"


@pytest.mark.parametrize(
    ("today", "status"),
    [
        # seeds 000, 001: no early termination — cancelled, it stays usable to its last day.
        (D(2026, 12, 31), LicenceStatus.CANCELLED),
        # then it expires.
        (D(2027, 1, 1), LicenceStatus.EXPIRED),
    ],
)
def test_a_cancelled_licence_runs_to_its_end_date_then_expires(today, status):
    licence = activate("be", "advertiser-small")
    register = licence.register
    with scope(register=register):
        licence_cancel(licence=licence, when=at_noon(D(2026, 3, 1), "be"))
        licences_expire(register=register, today=today)
        licence.refresh_from_db()
        assert licence.status == status
        assert licence not in licences_due_for_renewal(register=register, on=today)


@pytest.mark.parametrize(
    ("slug", "code", "today", "status"),
    [
        # seed 001: the month licence ends after its month.
        ("be", "advertiser-month", D(2026, 1, 31), LicenceStatus.ACTIVE),
        ("be", "advertiser-month", D(2026, 2, 1), LicenceStatus.EXPIRED),
        # seed 001: an annual licence not yet renewed is left to the renewal job, never expired.
        ("be", "advertiser-small", D(2027, 1, 2), LicenceStatus.ACTIVE),
        # seed 000: marking licences have no end.
        ("nl", "marking-1", D(2040, 1, 1), LicenceStatus.ACTIVE),
    ],
)
def test_licences_expire_after_their_last_day_unless_they_renew(slug, code, today, status):
    licence = activate(slug, code)
    with scope(register=licence.register):
        licences_expire(register=licence.register, today=today)
        licence.refresh_from_db()
    assert licence.status == status


def test_an_annual_be_licence_renews_tacitly_once_and_the_old_period_then_expires():
    # seed 001: "stilzwijgend verlengd voor de duur van één jaar".
    licence = activate("be", "provider-small")
    register = licence.register
    with scope(register=register):
        assert list(licences_due_for_renewal(register=register, on=D(2027, 1, 1))) == [licence]
        renewed = licence_renew(licence=licence)
        assert licence_renew(licence=licence) == renewed
        assert list(licences_due_for_renewal(register=register, on=D(2027, 1, 1))) == []
        assert licences_expire(register=register, today=D(2027, 1, 1)) == 1
        assert licences_expire(register=register, today=D(2027, 1, 1)) == 0
        licence.refresh_from_db()
    assert (renewed.source, renewed.renewal_of, renewed.status) == (
        LicenceSource.RENEWAL,
        licence,
        LicenceStatus.ACTIVE,
    )
    assert (renewed.starts_on, renewed.ends_on) == (D(2027, 1, 1), D(2027, 12, 31))
    assert licence.status == LicenceStatus.EXPIRED


@pytest.mark.parametrize(
    ("on", "due"),
    [
        # seed 001: the operator gives notice at least two months before expiry.
        (D(2026, 10, 31), False),
        (D(2026, 11, 1), True),
        # a day missed is caught up the next day.
        (D(2026, 11, 20), True),
        (D(2027, 1, 1), False),
    ],
)
def test_be_annual_licences_are_due_for_a_renewal_notice_two_months_before_expiry(on, due):
    licence = activate("be", "advertiser-small")
    with scope(register=licence.register):
        notices = list(licences_due_for_renewal_notice(register=licence.register, on=on))
    assert (licence in notices) is due


def test_a_licence_whose_notice_was_sent_is_not_due_again():
    licence = activate("be", "advertiser-small")
    with scopes_disabled():
        Licence.objects.filter(pk=licence.pk).update(
            renewal_notice_sent_at=at_noon(D(2026, 11, 1), "be")
        )
    with scope(register=licence.register):
        due = licences_due_for_renewal_notice(register=licence.register, on=D(2026, 11, 2))
        assert licence not in due


@pytest.mark.parametrize(
    ("slug", "company_type", "band", "codes"),
    [
        # seed 000: the service licence is for call centres; marking, download, upload for all.
        ("nl", ADVERTISER, SMALL, ["marking-1", "marking-2", "marking-3", "download", "upload"]),
        (
            "nl",
            PROVIDER,
            LARGE,
            ["marking-1", "marking-2", "marking-3", "download", "service", "upload"],
        ),
        # seed 001: price by company type and size; the month licence for advertisers only.
        ("be", ADVERTISER, SMALL, ["advertiser-small", "advertiser-month"]),
        ("be", ADVERTISER, LARGE, ["advertiser-large", "advertiser-month"]),
        ("be", PROVIDER, SMALL, ["provider-small"]),
        ("be", PROVIDER, LARGE, ["provider-large"]),
    ],
)
def test_products_are_offered_to_the_company_type_and_size_they_are_for(
    slug, company_type, band, codes
):
    register = get_register(slug)
    company = CompanyFactory(register=register, company_type=company_type, employee_band=band)
    with scope(register=register):
        assert [product.code for product in products_for_company(company=company)] == codes


def test_a_product_not_for_the_company_cannot_be_activated():
    be = get_register("be")
    company = CompanyFactory(register=be, company_type=ADVERTISER, employee_band=SMALL)
    with scope(register=be), pytest.raises(DomainError) as raised:
        licences_activate(
            company=company,
            product=get_product(be, "advertiser-large"),
            source=LicenceSource.ORDER,
            reference="order:1",
        )
    assert raised.value.code == "product_not_for_company"


def test_an_nl_marking_licence_needs_one_of_the_company_s_campaigns():
    nl = get_register("nl")
    company = CompanyFactory(register=nl)
    others = CampaignFactory(company__register=nl)
    marking = get_product(nl, "marking-1")
    with scope(register=nl):
        with pytest.raises(DomainError) as missing:
            licences_activate(
                company=company, product=marking, source=LicenceSource.ORDER, reference="o:1"
            )
        with pytest.raises(DomainError) as foreign:
            licences_activate(
                company=company,
                product=marking,
                campaign=others,
                source=LicenceSource.ORDER,
                reference="o:2",
            )
    assert (missing.value.code, foreign.value.code) == ("campaign_required", "not_found")
