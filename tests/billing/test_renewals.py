"""Renewals and licence notices, billing's side (SPEC §13, seeds 000 and 001): daily jobs that
send each mail once and renew each period once, however often they run."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from billing.models import Invoice, Order
from billing.services import (
    cancellation_reminders_send,
    payment_sync,
    renewal_notices_send,
    renewals_run,
)
from billing.tasks import licences_renew_and_notify
from licences.models import CompanyType, Licence
from tests.factories import CompanyFactory, LicenceFactory, get_product, get_register

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 10)
PORTAL = "http://be.localhost:8000"


def annual_licence(register_slug: str, code: str, *, ends_on: datetime.date, **company):
    register = get_register(register_slug)
    product = get_product(register, code)
    return LicenceFactory(
        company=CompanyFactory(register=register, **company),
        product=product,
        starts_on=ends_on.replace(year=ends_on.year - 1) + datetime.timedelta(days=1),
        ends_on=ends_on,
        renews=True,
    )


def test_be_renewal_notice_goes_out_once_two_months_before_expiry():
    licence = annual_licence("be", "advertiser-small", ends_on=datetime.date(2026, 5, 1))
    be = get_register("be")

    with scopes_disabled():
        sent = [
            renewal_notices_send(register=be, today=TODAY),
            renewal_notices_send(register=be, today=TODAY),
        ]

    assert sent == [1, 0]
    [message] = mail.outbox
    assert message.to == [licence.company.billing_email]
    # be: cancel at the latest one month before expiry (seed 001)
    assert "2026-04-02" in message.body
    assert "EUR 760,00" in message.body  # the register's language writes decimals its way


def test_no_renewal_notice_before_the_two_months():
    annual_licence("be", "advertiser-small", ends_on=datetime.date(2026, 6, 1))

    with scopes_disabled():
        assert renewal_notices_send(register=get_register("be"), today=TODAY) == 0


def test_nl_cancellation_deadline_reminder_goes_out_once_in_the_month_before_the_deadline():
    # Renews on 2026-06-01, so the last day to cancel is 2026-04-01 (two months, seed 000).
    annual_licence(
        "nl",
        "service",
        ends_on=datetime.date(2026, 5, 31),
        company_type=CompanyType.SERVICE_PROVIDER,
    )
    nl = get_register("nl")

    with scopes_disabled():
        early = cancellation_reminders_send(register=nl, today=datetime.date(2026, 2, 28))
        sent = [
            cancellation_reminders_send(register=nl, today=TODAY),
            cancellation_reminders_send(register=nl, today=datetime.date(2026, 3, 20)),
        ]
        late = cancellation_reminders_send(register=nl, today=datetime.date(2026, 4, 2))

    assert (early, sent, late) == (0, [1, 0], 0)
    [message] = mail.outbox
    assert "2026-04-01" in message.body


def test_due_licence_renews_once_with_an_order_and_a_mailed_payment_link(fake_mollie):
    licence = annual_licence("be", "advertiser-small", ends_on=TODAY - datetime.timedelta(days=1))
    be = get_register("be")

    with scopes_disabled():
        mailed = [
            renewals_run(register=be, today=TODAY, base_url=PORTAL),
            renewals_run(register=be, today=TODAY, base_url=PORTAL),
        ]
        renewed = Licence.objects.get(renewal_of=licence)
        order = Order.objects.get(company=licence.company)
        payment = order.payments.get()
        line = order.lines.get()

    assert mailed == [1, 0]
    assert (renewed.starts_on, renewed.ends_on) == (TODAY, datetime.date(2027, 3, 9))
    assert (order.kind, order.status) == ("renewal", "open")
    assert (order.total_excl_vat, order.total_incl_vat) == (Decimal("760.00"), Decimal("919.60"))
    assert line.renewed_licence == renewed
    [message] = mail.outbox
    assert payment.checkout_url in message.body
    assert fake_mollie.store.get(payment.provider_id).webhook_url.startswith(PORTAL)


def test_paying_a_renewal_invoices_it_and_activates_nothing_new(fake_mollie, queued_deliveries):
    licence = annual_licence("be", "advertiser-small", ends_on=TODAY - datetime.timedelta(days=1))
    be = get_register("be")
    with scopes_disabled():
        renewals_run(register=be, today=TODAY, base_url=PORTAL)
        payment = Order.objects.get(company=licence.company).payments.get()
        fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")

        payment_sync(payment_id=payment.provider_id)

        invoice = Invoice.objects.get(order=payment.order)
        licences = Licence.objects.filter(company=licence.company).count()
    assert invoice.number.startswith(f"BE-{be.today().year}-")
    assert invoice.total_incl_vat == Decimal("919.60")
    assert licences == 2


def test_daily_task_runs_every_step_for_every_register(fake_mollie):
    be = get_register("be")
    today = be.today()
    annual_licence(
        "be",
        "advertiser-large",
        ends_on=today - datetime.timedelta(days=1),
        employee_band="over_250",
    )

    first = licences_renew_and_notify()
    again = licences_renew_and_notify()

    assert first["renewals"] == 1
    assert again == {"notices": 0, "reminders": 0, "renewals": 0}
