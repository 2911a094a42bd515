"""The fake Mollie server, driven by the real mollie-api-python client (SPEC §12).

No database: the fake is a standalone HTTP server, started here in a thread on a free port.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from mollie.api.client import Client
from mollie.api.error import NotFoundError, UnprocessableEntityError

from billing.fake_mollie import FakeMollieServer

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test_" + "x" * 30


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def send(
    method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> Response:
    """One HTTP request that does not follow redirects (the checkout redirects to the portal)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def control(server: FakeMollieServer, payment_id: str, status: str) -> Response:
    return send(
        "POST",
        f"{server.public_url}/_fake/payments/{payment_id}",
        body=json.dumps({"status": status}).encode(),
        headers={"Content-Type": "application/json"},
    )


@contextmanager
def serve_in_thread(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fake_mollie() -> Iterator[FakeMollieServer]:
    server = FakeMollieServer(host="127.0.0.1", port=0, webhook_timeout=5)
    with serve_in_thread(server):
        yield server


def make_client(server: FakeMollieServer) -> Client:
    client = Client()
    client.set_api_endpoint(server.public_url)
    client.set_api_key(API_KEY)
    return client


@pytest.fixture
def client(fake_mollie: FakeMollieServer) -> Client:
    return make_client(fake_mollie)


@dataclass
class Delivery:
    path: str
    host: str
    content_type: str
    body: str
    status_seen_by_webhook: str | None


@dataclass
class WebhookReceiver:
    """A stand-in for the portal's webhook view: records what arrives and, like the portal,
    may fetch the payment back from Mollie while the fake waits for the answer."""

    port: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    fetch_payment: Callable[[str], str] | None = None


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            payment_id = parse_qs(body)["id"][0]
            seen = receiver.fetch_payment(payment_id) if receiver.fetch_payment else None
            receiver.deliveries.append(
                Delivery(self.path, self.headers["Host"], self.headers["Content-Type"], body, seen)
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    with serve_in_thread(server):
        yield receiver


def create_payment(client: Client, **overrides: object):
    data = {
        "amount": {"currency": "EUR", "value": "121.00"},
        "description": "Order NL-42: register access",
        "redirectUrl": "http://nl.localhost:8000/billing/orders/42/return/",
        "webhookUrl": "http://nl.localhost:8000/billing/webhook/",
        "metadata": {"order_id": 42},
    }
    return client.payments.create({**data, **overrides})


def test_created_payment_reads_as_a_mollie_payment_through_the_real_client(fake_mollie, client):
    payment = create_payment(client)

    assert payment.resource == "payment"
    assert payment.id.startswith("tr_")
    assert len(payment.id) > len("tr_")
    assert payment.mode == "test"
    assert payment.status == "open"
    assert payment.is_open()
    assert not payment.is_paid()
    assert payment.method is None
    assert payment.amount == {"currency": "EUR", "value": "121.00"}
    assert payment.description == "Order NL-42: register access"
    assert payment.metadata == {"order_id": 42}
    assert payment.redirect_url == "http://nl.localhost:8000/billing/orders/42/return/"
    assert payment.webhook_url == "http://nl.localhost:8000/billing/webhook/"
    assert payment.sequence_type == "oneoff"
    assert payment.profile_id.startswith("pfl_")
    assert payment.is_cancelable is False
    assert datetime.fromisoformat(payment.expires_at) > datetime.fromisoformat(payment.created_at)
    assert payment.checkout_url == f"{fake_mollie.public_url}/checkout/{payment.id}"
    assert payment["_links"]["self"] == {
        "href": f"{fake_mollie.public_url}/v2/payments/{payment.id}",
        "type": "application/hal+json",
    }
    assert set(payment["_links"]) == {"self", "checkout", "dashboard", "documentation"}


def test_fetched_payment_is_the_created_one(client):
    created = create_payment(client)

    fetched = client.payments.get(created.id)

    assert fetched.id == created.id
    assert fetched.status == "open"
    assert fetched.amount == created.amount
    assert fetched.metadata == {"order_id": 42}
    assert fetched.checkout_url == created.checkout_url


def test_payment_ids_are_random(client):
    assert create_payment(client).id != create_payment(client).id


def test_same_idempotency_key_returns_the_same_payment(client):
    data = {
        "amount": {"currency": "EUR", "value": "10.00"},
        "description": "Order 7",
        "redirectUrl": "http://nl.localhost:8000/return/",
    }

    first = client.payments.create(data, idempotency_key="order-7-attempt-1")
    again = client.payments.create(data, idempotency_key="order-7-attempt-1")
    other = client.payments.create(data, idempotency_key="order-7-attempt-2")

    assert again.id == first.id
    assert other.id != first.id


def test_replayed_creation_says_so_in_a_header(fake_mollie):
    body = json.dumps(
        {
            "amount": {"currency": "EUR", "value": "10.00"},
            "description": "Order 7",
            "redirectUrl": "http://nl.localhost:8000/return/",
        }
    ).encode()
    headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "k"}

    first = send("POST", f"{fake_mollie.public_url}/v2/payments", body=body, headers=headers)
    again = send("POST", f"{fake_mollie.public_url}/v2/payments", body=body, headers=headers)

    assert (first.status, again.status) == (201, 201)
    assert first.headers["Idempotent-Replayed"] is None
    assert again.headers["Idempotent-Replayed"] == "true"


def test_idempotency_key_reused_for_another_body_is_refused(client):
    client.payments.create(
        {
            "amount": {"currency": "EUR", "value": "10.00"},
            "description": "Order 8",
            "redirectUrl": "http://nl.localhost:8000/return/",
        },
        idempotency_key="order-8",
    )

    with pytest.raises(UnprocessableEntityError):
        client.payments.create(
            {
                "amount": {"currency": "EUR", "value": "99.00"},
                "description": "Order 9",
                "redirectUrl": "http://nl.localhost:8000/return/",
            },
            idempotency_key="order-8",
        )


def test_concurrent_creations_with_one_idempotency_key_make_one_payment(fake_mollie):
    clients = [make_client(fake_mollie) for _ in range(8)]
    data = {
        "amount": {"currency": "EUR", "value": "10.00"},
        "description": "Order 10",
        "redirectUrl": "http://nl.localhost:8000/return/",
    }

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(
            pool.map(lambda c: c.payments.create(data, idempotency_key="order-10").id, clients)
        )

    assert len(ids) == 1


def test_control_call_marks_paid_and_delivers_the_webhook_to_loopback_with_the_host(
    fake_mollie, client, webhook_receiver
):
    webhook_url = f"http://nl.localhost:{webhook_receiver.port}/billing/webhook/?register=nl"
    payment = create_payment(client, webhookUrl=webhook_url)

    response = control(fake_mollie, payment.id, "paid")

    assert response.status == 200
    assert response.headers["X-Fake-Webhook-Status"] == "200"
    assert response.json()["status"] == "paid"
    assert webhook_receiver.deliveries == [
        Delivery(
            path="/billing/webhook/?register=nl",
            host=f"nl.localhost:{webhook_receiver.port}",
            content_type="application/x-www-form-urlencoded",
            body=urlencode({"id": payment.id}),
            status_seen_by_webhook=None,
        )
    ]
    paid = client.payments.get(payment.id)
    assert paid.status == "paid"
    assert paid.is_paid()
    assert paid.paid_at is not None
    assert paid.method == "ideal"
    assert paid.amount_remaining == {"currency": "EUR", "value": "121.00"}
    assert paid.checkout_url is None


def test_every_control_call_delivers_the_webhook_again_and_keeps_paid_at(
    fake_mollie, client, webhook_receiver
):
    payment = create_payment(
        client, webhookUrl=f"http://nl.localhost:{webhook_receiver.port}/billing/webhook/"
    )
    control(fake_mollie, payment.id, "paid")
    # The store's moment, not paidAt: Mollie's timestamps are whole seconds.
    paid_at = fake_mollie.store.get(payment.id).status_changed_at

    control(fake_mollie, payment.id, "paid")

    assert len(webhook_receiver.deliveries) == 2
    assert fake_mollie.store.get(payment.id).status_changed_at == paid_at
    assert client.payments.get(payment.id).is_paid()


def test_webhook_view_can_fetch_the_payment_while_the_fake_waits(
    fake_mollie, client, webhook_receiver
):
    webhook_client = make_client(fake_mollie)
    webhook_receiver.fetch_payment = lambda payment_id: (
        webhook_client.payments.get(payment_id).status
    )
    payment = create_payment(
        client, webhookUrl=f"http://be.localhost:{webhook_receiver.port}/billing/webhook/"
    )

    control(fake_mollie, payment.id, "paid")

    assert [d.status_seen_by_webhook for d in webhook_receiver.deliveries] == ["paid"]


@pytest.mark.parametrize(
    ("status", "timestamp_field"),
    [("failed", "failed_at"), ("canceled", "canceled_at"), ("expired", "expired_at")],
)
def test_control_call_sets_unpaid_outcomes_with_their_timestamp(
    fake_mollie, client, webhook_receiver, status, timestamp_field
):
    payment = create_payment(
        client, webhookUrl=f"http://localhost:{webhook_receiver.port}/billing/webhook/"
    )

    control(fake_mollie, payment.id, status)

    fetched = client.payments.get(payment.id)
    assert fetched.status == status
    assert getattr(fetched, timestamp_field) is not None
    assert not fetched.is_paid()
    assert fetched.expires_at is None
    assert [d.body for d in webhook_receiver.deliveries] == [f"id={payment.id}"]


def test_control_call_refuses_an_unknown_status(fake_mollie, client):
    payment = create_payment(client)

    response = control(fake_mollie, payment.id, "refunded")

    assert response.status == 400
    assert response.json()["field"] == "status"
    assert client.payments.get(payment.id).status == "open"


def test_control_call_on_an_unknown_payment_is_404(fake_mollie):
    assert control(fake_mollie, "tr_unknown", "paid").status == 404


def test_undeliverable_webhook_is_reported_and_the_status_still_changes(fake_mollie, client):
    unused = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    closed_port = unused.server_address[1]
    unused.server_close()
    payment = create_payment(client, webhookUrl=f"http://nl.localhost:{closed_port}/webhook/")

    response = control(fake_mollie, payment.id, "paid")

    assert response.status == 200
    assert response.headers["X-Fake-Webhook-Status"] == "failed"
    assert client.payments.get(payment.id).is_paid()


def test_payment_without_webhook_url_is_settled_without_a_webhook(fake_mollie, client):
    payment = create_payment(client, webhookUrl=None)

    response = control(fake_mollie, payment.id, "paid")

    assert response.headers["X-Fake-Webhook-Status"] == "not-sent"
    assert client.payments.get(payment.id).is_paid()


def test_checkout_page_shows_the_test_payment_with_a_button_per_outcome(client):
    payment = create_payment(client, description="Order <42> & more")

    response = send("GET", payment.checkout_url)

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.body.decode()
    assert "Test payment" in page
    assert "No money is moved" in page
    assert "EUR 121.00" in page
    assert "Order &lt;42&gt; &amp; more" in page
    for status in ("paid", "failed", "canceled", "expired"):
        assert f'name="status" value="{status}"' in page


def test_checkout_page_speaks_dutch_for_a_dutch_payment(client):
    payment = create_payment(client, locale="nl_NL")

    page = send("GET", payment.checkout_url).body.decode()

    assert "Testbetaling" in page
    assert "Betaald" in page


@pytest.mark.parametrize("status", ["paid", "failed", "canceled", "expired"])
def test_checkout_button_sets_the_outcome_calls_the_webhook_and_returns_to_the_shop(
    client, webhook_receiver, status
):
    payment = create_payment(
        client, webhookUrl=f"http://nl.localhost:{webhook_receiver.port}/billing/webhook/"
    )

    response = send(
        "POST",
        payment.checkout_url,
        body=urlencode({"status": status}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status == 303
    assert response.headers["Location"] == payment.redirect_url
    assert client.payments.get(payment.id).status == status
    assert [d.body for d in webhook_receiver.deliveries] == [f"id={payment.id}"]


def test_checkout_of_a_finished_payment_returns_to_the_shop_unchanged(
    fake_mollie, client, webhook_receiver
):
    payment = create_payment(
        client, webhookUrl=f"http://nl.localhost:{webhook_receiver.port}/billing/webhook/"
    )
    control(fake_mollie, payment.id, "paid")

    page = send("GET", payment.checkout_url)
    resubmit = send(
        "POST",
        payment.checkout_url,
        body=b"status=failed",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert (page.status, page.headers["Location"]) == (303, payment.redirect_url)
    assert (resubmit.status, resubmit.headers["Location"]) == (303, payment.redirect_url)
    assert client.payments.get(payment.id).status == "paid"
    assert len(webhook_receiver.deliveries) == 1


def test_checkout_of_an_unknown_payment_is_404(fake_mollie):
    assert send("GET", f"{fake_mollie.public_url}/checkout/tr_unknown").status == 404


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer nonsense", f"Basic {API_KEY}", "Bearer access_x"]
)
def test_api_without_a_test_or_live_key_is_401_in_mollies_error_shape(
    fake_mollie, client, authorization
):
    payment = create_payment(client)
    headers = {"Authorization": authorization} if authorization else {}

    response = send("GET", f"{fake_mollie.public_url}/v2/payments/{payment.id}", headers=headers)

    assert response.status == 401
    assert response.json() == {
        "status": 401,
        "title": "Unauthorized Request",
        "detail": "Missing authentication, or failed to authenticate",
        "_links": {
            "documentation": {
                "href": "https://docs.mollie.com/overview/authentication",
                "type": "text/html",
            }
        },
    }


def test_creating_without_a_key_is_401(fake_mollie):
    response = send("POST", f"{fake_mollie.public_url}/v2/payments", body=b"{}")

    assert response.status == 401


def test_live_key_makes_a_live_payment(fake_mollie):
    client = make_client(fake_mollie)
    client.set_api_key("live_" + "y" * 30)

    assert create_payment(client).mode == "live"


def test_unknown_payment_is_404_in_mollies_error_shape(fake_mollie, client):
    with pytest.raises(NotFoundError) as raised:
        client.payments.get("tr_unknown")

    assert raised.value.status == 404
    response = send(
        "GET",
        f"{fake_mollie.public_url}/v2/payments/tr_unknown",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.json()["title"] == "Not Found"
    assert response.json()["detail"] == "No payment exists with token tr_unknown."
    assert "documentation" in response.json()["_links"]


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"amount": None}, "amount"),
        ({"amount": {"currency": "EUR", "value": 12.1}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "12.1"}}, "amount.value"),
        ({"amount": {"currency": "euro", "value": "12.10"}}, "amount.currency"),
        ({"amount": {"currency": "EUR", "value": "0.00"}}, "amount"),
        ({"description": ""}, "description"),
        ({"description": "x" * 256}, "description"),
        ({"redirectUrl": None}, "redirectUrl"),
        ({"redirectUrl": "/relative/return/"}, "redirectUrl"),
        ({"webhookUrl": "ftp://nl.localhost/webhook/"}, "webhookUrl"),
        ({"metadata": {"notes": "x" * 2000}}, "metadata"),
        ({"locale": "Dutch"}, "locale"),
    ],
)
def test_invalid_payment_is_422_naming_the_field(client, overrides, field_name):
    with pytest.raises(UnprocessableEntityError) as raised:
        create_payment(client, **overrides)

    assert raised.value.status == 422
    assert raised.value.field == field_name


def test_body_that_is_not_json_is_400(fake_mollie):
    response = send(
        "POST",
        f"{fake_mollie.public_url}/v2/payments",
        body=b"amount=10",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )

    assert response.status == 400
    assert response.json()["status"] == 400


def test_health(fake_mollie):
    response = send("GET", f"{fake_mollie.public_url}/_fake/health")

    assert (response.status, response.json()) == (200, {"status": "ok"})


def test_public_url_option_is_used_in_links():
    server = FakeMollieServer(host="127.0.0.1", port=0, public_url="https://pay.example.test/")
    with serve_in_thread(server):
        response = send(
            "POST",
            f"http://127.0.0.1:{server.server_address[1]}/v2/payments",
            body=json.dumps(
                {
                    "amount": {"currency": "EUR", "value": "1.00"},
                    "description": "x",
                    "redirectUrl": "http://nl.localhost:8000/return/",
                }
            ).encode(),
            headers={"Authorization": f"Bearer {API_KEY}"},
        )

    payment_id = response.json()["id"]
    assert response.json()["_links"]["checkout"]["href"] == (
        f"https://pay.example.test/checkout/{payment_id}"
    )


def test_runs_as_a_module_without_django():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "billing.fake_mollie", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        public_url = first_line.rsplit(" ", 1)[-1].strip()
        assert "fake Mollie listening on http://127.0.0.1:" in first_line
        assert send("GET", f"{public_url}/_fake/health").status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_help_describes_the_options():
    result = subprocess.run(
        [sys.executable, "-m", "billing.fake_mollie", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    for option in ("--host", "--port", "--public-url", "--webhook-timeout"):
        assert option in result.stdout
