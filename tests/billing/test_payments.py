"""Paying through the real mollie client against the fake Mollie, webhooks delivered to the
portal running in `live_server` (SPEC §12): exactly once, whatever arrives and in what order."""

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest
from django_scopes import scopes_disabled
from mollie.api.client import Client

from billing.models import Invoice, Order, Payment
from billing.services import PaymentMismatch, order_create, payment_start, payment_sync
from config.celery_app import app as celery_app
from licences.models import CreditAccount, Licence
from tests.conftest import MOLLIE_TEST_KEY
from tests.factories import CampaignFactory, CompanyFactory, get_register

# Webhooks arrive on the live server's threads, which see only committed rows; the registers and
# catalogue are migration data, restored after each test's flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
    """A request to a `*.localhost` URL, sent to 127.0.0.1 with the name in the Host header."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=60)
    try:
        connection.request(
            "POST",
            parts.path,
            body=body,
            headers={"Host": f"{parts.hostname}:{parts.port}", **headers},
        )
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def control(fake_mollie, payment_id: str, status: str) -> http.client.HTTPResponse:
    """The fake's control call: settles the payment, then delivers the webhook."""
    return post(
        f"{fake_mollie.public_url}/_fake/payments/{payment_id}",
        body=json.dumps({"status": status}).encode(),
        headers={"Content-Type": "application/json"},
    )


def webhook(fake_mollie, payment_id: str, *, webhook_url: str | None = None) -> int:
    """Posts Mollie's webhook body to the URL the payment was created with (or another)."""
    url = webhook_url or fake_mollie.store.get(payment_id).webhook_url
    response = post(
        url,
        body=urlencode({"id": payment_id}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return response.status


@pytest.fixture
def portal_url(live_server) -> str:
    """The nl portal as the fake Mollie reaches it: nl.localhost on the live server's port."""
    return f"http://nl.localhost:{urlsplit(live_server.url).port}"


def buy_marking_1(portal_url: str, *, company=None) -> Payment:
    company = company or CompanyFactory(register=get_register("nl"))
    campaign = CampaignFactory(company=company)
    with scopes_disabled():
        order = order_create(
            company=company, lines=[{"product": "marking-1", "quantity": 1, "campaign": campaign}]
        )
        return payment_start(
            order=order, base_url=portal_url, return_url=f"{portal_url}/orders/{order.pk}/"
        )


def test_paid_webhook_activates_credits_and_issues_one_invoice(
    fake_mollie, portal_url, queued_deliveries
):
    payment = buy_marking_1(portal_url)

    response = control(fake_mollie, payment.provider_id, "paid")

    assert response.headers["X-Fake-Webhook-Status"] == "200"
    with scopes_disabled():
        order = Order.objects.get(pk=payment.order_id)
        invoice = Invoice.objects.get(order=order)
        account = CreditAccount.objects.get(company=order.company)
        assert order.status == "paid"
        assert Payment.objects.get(pk=payment.pk).status == "paid"
        assert Licence.objects.filter(company=order.company).count() == 1
        assert account.balance == 10_000
        assert invoice.payment_reference == payment.provider_id
        assert invoice.total_incl_vat == payment.amount
    assert queued_deliveries == [invoice.pk]


def test_payment_carries_amount_incl_vat_order_id_and_urls_of_the_request_host(
    fake_mollie, portal_url
):
    payment = buy_marking_1(portal_url)

    remote = fake_mollie.store.get(payment.provider_id)

    assert remote.amount == {"currency": "EUR", "value": "211.75"}
    assert remote.metadata == {"order_id": payment.order_id, "payment_id": payment.pk}
    assert remote.webhook_url.startswith(f"{portal_url}/billing/webhooks/mollie/")
    assert remote.redirect_url == f"{portal_url}/orders/{payment.order_id}/"
    assert payment.checkout_url == f"{fake_mollie.public_url}/checkout/{payment.provider_id}"
    with scopes_disabled():
        # Only the token's hash is stored; the URL holds the token itself.
        token = remote.webhook_url.rstrip("/").rsplit("/", 1)[1]
        assert not Payment.objects.filter(webhook_token_hash=token).exists()


def test_starting_payment_twice_gives_the_same_payment(fake_mollie, portal_url):
    payment = buy_marking_1(portal_url)

    with scopes_disabled():
        again = payment_start(order=payment.order, base_url=portal_url, return_url=portal_url)

    assert again.pk == payment.pk
    assert again.provider_id == payment.provider_id


def test_twenty_concurrent_webhooks_give_one_activation_and_one_invoice(
    fake_mollie, portal_url, queued_deliveries
):
    payment = buy_marking_1(portal_url)
    # Paid at Mollie without a webhook yet: then twenty deliveries race for it.
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: webhook(fake_mollie, payment.provider_id), range(20)))

    assert statuses == [200] * 20
    with scopes_disabled():
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == "paid"
        assert Licence.objects.filter(company=order.company).count() == 1
        assert CreditAccount.objects.get(company=order.company).balance == 10_000
        assert Invoice.objects.filter(order=order).count() == 1
    assert len(queued_deliveries) == 1


def test_fifty_payments_settled_at_once_get_fifty_consecutive_invoice_numbers(
    fake_mollie, portal_url, queued_deliveries
):
    company = CompanyFactory(register=get_register("nl"))
    payments = [buy_marking_1(portal_url, company=company) for _ in range(50)]

    # 25 at a time: enough to contend for the counter, within PostgreSQL's connection limit
    # shared by the other test runs on this machine.
    with ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(
            pool.map(lambda payment: control(fake_mollie, payment.provider_id, "paid"), payments)
        )

    assert [r.headers["X-Fake-Webhook-Status"] for r in responses] == ["200"] * 50
    with scopes_disabled():
        invoices = list(Invoice.objects.filter(company=company).order_by("sequence"))
    year = invoices[0].year
    assert [invoice.sequence for invoice in invoices] == list(range(1, 51))
    assert [invoice.number for invoice in invoices] == [f"NL-{year}-{n:06d}" for n in range(1, 51)]
    assert {invoice.order_id for invoice in invoices} == {p.order_id for p in payments}
    assert sorted(queued_deliveries) == sorted(invoice.pk for invoice in invoices)


def test_paid_id_replayed_on_another_orders_webhook_grants_nothing(
    fake_mollie, portal_url, queued_deliveries
):
    paid = buy_marking_1(portal_url)
    other = buy_marking_1(portal_url)
    control(fake_mollie, paid.provider_id, "paid")
    other_webhook_url = fake_mollie.store.get(other.provider_id).webhook_url

    status = webhook(fake_mollie, paid.provider_id, webhook_url=other_webhook_url)

    assert status == 200  # like Mollie advises: nothing to learn for a prober
    with scopes_disabled():
        other_order = Order.objects.get(pk=other.order_id)
        assert other_order.status == "open"
        assert not Licence.objects.filter(company=other_order.company).exists()
        assert not Invoice.objects.filter(order=other_order).exists()
        paid_order = Order.objects.get(pk=paid.order_id)
        assert Licence.objects.filter(company=paid_order.company).count() == 1
    assert len(queued_deliveries) == 1


def test_webhook_with_a_made_up_token_grants_nothing(fake_mollie, portal_url, queued_deliveries):
    payment = buy_marking_1(portal_url)
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")

    status = webhook(
        fake_mollie,
        payment.provider_id,
        webhook_url=f"{portal_url}/billing/webhooks/mollie/guessed-token/",
    )

    assert status == 200
    with scopes_disabled():
        assert Order.objects.get(pk=payment.order_id).status == "open"
    assert queued_deliveries == []


@pytest.mark.parametrize("outcome", ["failed", "canceled", "expired"])
def test_unpaid_outcomes_grant_nothing_and_are_final(
    fake_mollie, portal_url, queued_deliveries, outcome
):
    payment = buy_marking_1(portal_url)

    control(fake_mollie, payment.provider_id, outcome)
    # Mollie never turns these into paid; if a "paid" arrived anyway it would change nothing.
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
    webhook(fake_mollie, payment.provider_id)

    with scopes_disabled():
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == outcome
        assert Payment.objects.get(pk=payment.pk).status == outcome
        assert not Licence.objects.filter(company=order.company).exists()
        assert not Invoice.objects.exists()
    assert queued_deliveries == []


def test_return_page_and_webhooks_in_any_order_settle_once(
    fake_mollie, portal_url, queued_deliveries
):
    payment = buy_marking_1(portal_url)
    webhook(fake_mollie, payment.provider_id)  # still open at Mollie: nothing happens
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")

    with scopes_disabled():
        returned = payment_sync(payment_id=payment.provider_id)
    control(fake_mollie, payment.provider_id, "paid")
    control(fake_mollie, payment.provider_id, "paid")

    assert returned.status == "paid"
    with scopes_disabled():
        order = Order.objects.get(pk=payment.order_id)
        assert Licence.objects.filter(company=order.company).count() == 1
        assert Invoice.objects.filter(order=order).count() == 1
    assert len(queued_deliveries) == 1


def test_webhook_answers_503_when_mollie_cannot_be_reached(
    fake_mollie, portal_url, settings, queued_deliveries
):
    payment = buy_marking_1(portal_url)
    settings.MOLLIE_API_ENDPOINT = "http://127.0.0.1:9"  # nothing listens: Mollie retries

    assert webhook(fake_mollie, payment.provider_id) == 503
    with scopes_disabled():
        assert Order.objects.get(pk=payment.order_id).status == "open"


def test_worker_renders_and_mails_the_invoice_after_the_webhook_commits(
    fake_mollie, portal_url, celery_worker_process
):
    """The real path: webhook → commit → broker → a separate Celery worker process."""
    celery_app.control.purge()
    payment = buy_marking_1(portal_url)

    control(fake_mollie, payment.provider_id, "paid")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with scopes_disabled():
            invoice = Invoice.objects.get(order_id=payment.order_id)
        if invoice.mailed_at is not None:
            break
        time.sleep(0.25)
    # The worker keeps its files under its own MEDIA_ROOT; the rows tell what it did.
    assert invoice.pdf.name.startswith("invoices/nl/")
    assert invoice.pdf_rendered_at is not None
    assert invoice.mailed_at is not None


@pytest.mark.parametrize(
    ("amount", "metadata"),
    [
        ("1.00", "own"),  # a cheaper payment passed off as this order's
        ("211.75", "other order"),  # the right amount, but made for another order
    ],
)
def test_mollie_payment_not_matching_its_order_grants_nothing(
    fake_mollie, portal_url, queued_deliveries, amount, metadata
):
    payment = buy_marking_1(portal_url)
    other = buy_marking_1(portal_url)
    order_id = payment.order_id if metadata == "own" else other.order_id
    payment_pk = payment.pk if metadata == "own" else other.pk
    impostor = Client()
    impostor.set_api_endpoint(fake_mollie.public_url)
    impostor.set_api_key(MOLLIE_TEST_KEY)
    swapped = impostor.payments.create(
        {
            "amount": {"currency": "EUR", "value": amount},
            "description": "not ours",
            "redirectUrl": f"{portal_url}/",
            "metadata": {"order_id": order_id, "payment_id": payment_pk},
        }
    )
    fake_mollie.store.set_status(payment_id=swapped.id, status="paid")
    with scopes_disabled():
        Payment.objects.filter(pk=payment.pk).update(provider_id=swapped.id)

        with pytest.raises(PaymentMismatch):
            payment_sync(payment_id=swapped.id)

        assert Order.objects.get(pk=payment.order_id).status == "open"
        assert not Licence.objects.exists()
    assert queued_deliveries == []


def test_a_webhook_while_the_broker_is_down_is_answered_and_the_next_one_delivers_the_invoice(
    fake_mollie, portal_url, monkeypatch, settings
):
    # Issue #11: the webhook answered 500 with the order paid and its invoice issued, and Mollie's
    # retries found the payment no longer open: the invoice was never rendered nor mailed.
    from kombu.exceptions import OperationalError

    queued: list[int] = []
    broker = {"up": False}

    def delay(invoice_id):
        if not broker["up"]:
            raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")
        queued.append(invoice_id)

    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", delay)
    payment = buy_marking_1(portal_url)
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")

    while_down = webhook(fake_mollie, payment.provider_id)
    broker["up"] = True
    # Mollie retries after a minute or more; a webhook sooner than REAPER_QUEUED_AFTER_SECONDS
    # after the issue leaves the delivery queued then to its worker.
    settings.REAPER_QUEUED_AFTER_SECONDS = 0
    retried = webhook(fake_mollie, payment.provider_id)
    delivered = webhook(fake_mollie, payment.provider_id)

    with scopes_disabled():
        invoice = Invoice.objects.get(order_id=payment.order_id)
        assert Order.objects.get(pk=payment.order_id).status == "paid"
    assert (while_down, retried, delivered) == (200, 200, 200)
    # Queued again by each webhook until delivered (here no worker runs): delivery itself is
    # recorded under a row lock, so a mail never goes twice.
    assert queued == [invoice.pk, invoice.pk]
