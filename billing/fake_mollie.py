"""A fake Mollie API server for development and tests (SPEC §12).

It speaks the subset of the Mollie v2 API that ``mollie-api-python`` uses to create and fetch
payments, in Mollie's own JSON shapes, so the portal runs the real client against it:

- ``POST /v2/payments`` and ``GET /v2/payments/{id}`` with ``Authorization: Bearer test_…``;
- ``/checkout/{id}``, a test payment screen where a person chooses the outcome;
- ``POST /_fake/payments/{id}`` with ``{"status": "paid"}`` (or failed, canceled, expired), the
  control call for tests, answered after the webhook has been delivered;
- ``GET /_fake/payments/{id}`` (the payment as JSON, no key needed) and ``GET /_fake/health``.

Every status change, and every control call even without a change, is followed by a webhook as
Mollie sends it: ``POST webhookUrl`` with only ``id=tr_…`` in a form body.

It deliberately needs neither Django settings nor a database, so the Procfile can start it on its
own in a blink; state lives in memory and is gone on restart. Run
``python -m billing.fake_mollie --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import http.client
import ipaddress
import json
import logging
import re
import secrets
import string
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

logger = logging.getLogger("billing.fake_mollie")

FINAL_STATUSES = ("paid", "failed", "canceled", "expired")
STATUS_TIMESTAMP_FIELDS = {
    "paid": "paidAt",
    "failed": "failedAt",
    "canceled": "canceledAt",
    "expired": "expiredAt",
}
# Mollie lets an open payment without a chosen method live for 15 minutes. The fake never expires
# payments by itself; a test or a person chooses "expired" instead.
OPEN_PAYMENT_LIFETIME = timedelta(minutes=15)
# The method a consumer "chose" on the test payment screen, as Mollie reports it afterwards.
CHECKOUT_METHOD = "ideal"
# Mollie refuses metadata above roughly one kilobyte of JSON.
METADATA_MAX_BYTES = 1024
DESCRIPTION_MAX_LENGTH = 255
PROFILE_ID = "pfl_FakeMollie"
ID_ALPHABET = string.ascii_letters + string.digits

DOCS_CREATE = "https://docs.mollie.com/reference/v2/payments-api/create-payment"
DOCS_GET = "https://docs.mollie.com/reference/v2/payments-api/get-payment"
DOCS_AUTHENTICATION = "https://docs.mollie.com/overview/authentication"
DOCS_ERRORS = "https://docs.mollie.com/overview/handling-errors"

# Mollie's titles where they differ from the HTTP reason phrase.
ERROR_TITLES = {HTTPStatus.UNAUTHORIZED: "Unauthorized Request"}

API_KEY_RE = re.compile(r"^(live|test)_\w+$")
AMOUNT_VALUE_RE = re.compile(r"^\d+\.\d{2}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
LOCALE_RE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")

PAYMENTS_PATH = re.compile(r"^/v2/payments$")
PAYMENT_PATH = re.compile(r"^/v2/payments/(?P<id>[^/]+)$")
CHECKOUT_PATH = re.compile(r"^/checkout/(?P<id>[^/]+)$")
CONTROL_PATH = re.compile(r"^/_fake/payments/(?P<id>[^/]+)$")
HEALTH_PATH = "/_fake/health"


class ApiError(Exception):
    """An error answered in Mollie's error shape."""

    def __init__(
        self,
        *,
        status: HTTPStatus,
        detail: str,
        field: str | None = None,
        documentation: str = DOCS_ERRORS,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.documentation = documentation

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status.value,
            "title": ERROR_TITLES.get(self.status, self.status.phrase),
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        body["_links"] = {"documentation": {"href": self.documentation, "type": "text/html"}}
        return body


def unprocessable(field: str, detail: str) -> ApiError:
    return ApiError(status=HTTPStatus.UNPROCESSABLE_ENTITY, detail=detail, field=field)


def payment_not_found(payment_id: str) -> ApiError:
    return ApiError(
        status=HTTPStatus.NOT_FOUND, detail=f"No payment exists with token {payment_id}."
    )


@dataclass
class Payment:
    """One payment as the fake keeps it; ``as_json`` gives Mollie's representation."""

    id: str
    mode: str
    created_at: datetime
    amount: dict[str, str]
    description: str
    redirect_url: str
    webhook_url: str | None
    metadata: Any
    locale: str | None
    status: str = "open"
    # When the payment reached its current final status; paidAt, failedAt, … are taken from it.
    status_changed_at: datetime | None = None

    def as_json(self, *, base_url: str, documentation: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resource": "payment",
            "id": self.id,
            "mode": self.mode,
            "createdAt": timestamp(self.created_at),
            "amount": dict(self.amount),
            "description": self.description,
            "method": CHECKOUT_METHOD if self.status in ("paid", "failed") else None,
            "metadata": self.metadata,
            "status": self.status,
            "isCancelable": False,
        }
        if self.status == "open":
            data["expiresAt"] = timestamp(self.created_at + OPEN_PAYMENT_LIFETIME)
        else:
            data[STATUS_TIMESTAMP_FIELDS[self.status]] = timestamp(self.status_changed_at)
        if self.status == "paid":
            data["amountRefunded"] = {"value": "0.00", "currency": self.amount["currency"]}
            data["amountRemaining"] = dict(self.amount)
        if self.locale is not None:
            data["locale"] = self.locale
        data["profileId"] = PROFILE_ID
        data["sequenceType"] = "oneoff"
        data["redirectUrl"] = self.redirect_url
        data["webhookUrl"] = self.webhook_url
        links = {
            "self": {"href": f"{base_url}/v2/payments/{self.id}", "type": "application/hal+json"}
        }
        # Like Mollie, the checkout link is only offered while the payment can still be paid.
        if self.status == "open":
            links["checkout"] = {"href": f"{base_url}/checkout/{self.id}", "type": "text/html"}
        # Mollie links its dashboard here; the fake's nearest thing is its own view of the payment.
        links["dashboard"] = {
            "href": f"{base_url}/_fake/payments/{self.id}",
            "type": "application/json",
        }
        links["documentation"] = {"href": documentation, "type": "text/html"}
        data["_links"] = links
        return data


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def new_payment_id() -> str:
    return "tr_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(10))


def is_absolute_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def validate_payment_request(body: object) -> dict[str, Any]:
    """Check a create-payment body as Mollie does for the fields the portal sends."""
    if not isinstance(body, dict):
        raise ApiError(
            status=HTTPStatus.BAD_REQUEST, detail="The request body must be a JSON object."
        )
    amount = body.get("amount")
    if not isinstance(amount, dict):
        raise unprocessable("amount", "The amount is required for payments.")
    currency = amount.get("currency")
    if not isinstance(currency, str) or not CURRENCY_RE.match(currency):
        raise unprocessable("amount.currency", "The amount contains an invalid currency.")
    value = amount.get("value")
    if not isinstance(value, str) or not AMOUNT_VALUE_RE.match(value):
        raise unprocessable("amount.value", "The amount contains an invalid value.")
    if Decimal(value) < Decimal("0.01"):
        raise unprocessable("amount", "The amount is lower than the minimum.")
    description = body.get("description")
    if not isinstance(description, str) or not description.strip():
        raise unprocessable("description", "The description is invalid.")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise unprocessable("description", "The description is too long.")
    redirect_url = body.get("redirectUrl")
    if not is_absolute_http_url(redirect_url):
        raise unprocessable("redirectUrl", "The redirect URL is invalid.")
    webhook_url = body.get("webhookUrl")
    if webhook_url is not None and not is_absolute_http_url(webhook_url):
        raise unprocessable("webhookUrl", "The webhook URL is invalid.")
    metadata = body.get("metadata")
    if len(json.dumps(metadata).encode()) > METADATA_MAX_BYTES:
        raise unprocessable("metadata", "The metadata is too large.")
    locale = body.get("locale")
    if locale is not None and (not isinstance(locale, str) or not LOCALE_RE.match(locale)):
        raise unprocessable("locale", "The locale is invalid.")
    return {
        "amount": {"currency": currency, "value": value},
        "description": description,
        "redirect_url": redirect_url,
        "webhook_url": webhook_url,
        "metadata": metadata,
        "locale": locale,
    }


class IdempotencyKeyReused(Exception):
    pass


class PaymentStore:
    """The payments in memory. Every method holds the lock and hands out copies, so a request
    thread never sees a payment half way through a change made by another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._payments: dict[str, Payment] = {}
        # (API key, Idempotency-Key) -> (the request body, canonically encoded; the payment id)
        self._idempotency: dict[tuple[str, str], tuple[str, str]] = {}

    def create(
        self, *, api_key: str, idempotency_key: str, fields: dict[str, Any]
    ) -> tuple[Payment, bool]:
        """Create a payment, or return the one created earlier for the same key and body.

        The flag says whether the payment is a replay. The same key with another body raises
        ``IdempotencyKeyReused``: a caller that does that has a bug worth hearing about.
        """
        fingerprint = json.dumps(fields, sort_keys=True)
        with self._lock:
            if idempotency_key:
                earlier = self._idempotency.get((api_key, idempotency_key))
                if earlier is not None:
                    earlier_fingerprint, payment_id = earlier
                    if earlier_fingerprint != fingerprint:
                        raise IdempotencyKeyReused
                    return dataclasses.replace(self._payments[payment_id]), True
            payment = Payment(
                id=new_payment_id(),
                mode="live" if api_key.startswith("live_") else "test",
                created_at=datetime.now(UTC),
                **fields,
            )
            self._payments[payment.id] = payment
            if idempotency_key:
                self._idempotency[(api_key, idempotency_key)] = (fingerprint, payment.id)
            return dataclasses.replace(payment), False

    def get(self, payment_id: str) -> Payment | None:
        with self._lock:
            payment = self._payments.get(payment_id)
            return None if payment is None else dataclasses.replace(payment)

    def set_status(
        self, *, payment_id: str, status: str, only_if_open: bool = False
    ) -> tuple[Payment, bool] | None:
        """Give the payment a final status; choosing the status it has keeps its timestamp.

        The flag says whether the status was set: with ``only_if_open`` a finished payment is
        left alone, checked under the lock so that two submits of one checkout cannot both win.
        """
        with self._lock:
            payment = self._payments.get(payment_id)
            if payment is None:
                return None
            if only_if_open and payment.status != "open":
                return dataclasses.replace(payment), False
            if payment.status != status:
                payment.status = status
                payment.status_changed_at = datetime.now(UTC)
            return dataclasses.replace(payment), True


def deliver_webhook(*, url: str, payment_id: str, timeout: float) -> int | None:
    """POST ``id=<payment id>`` to the webhook URL; the HTTP status, or None if it failed.

    The portal builds webhook URLs from the request's own host, such as ``nl.localhost``. Browsers
    send ``*.localhost`` to the loopback address but no resolver here knows those names, so the
    fake connects to 127.0.0.1 itself and keeps the name in the Host header for the portal to
    find its register.
    """
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    connect_to = (
        "127.0.0.1" if hostname == "localhost" or hostname.endswith(".localhost") else hostname
    )
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(connect_to, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = hostname if parts.port is None else f"{hostname}:{parts.port}"
    try:
        connection.request(
            "POST",
            path,
            body=urlencode({"id": payment_id}),
            headers={
                "Host": host_header,
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "fake-mollie-webhook",
            },
        )
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as error:
        logger.warning("webhook for %s to %s failed: %s", payment_id, url, error)
        return None
    finally:
        connection.close()
    logger.info("webhook for %s to %s answered %s", payment_id, url, response.status)
    return response.status


# The fake runs without Django, so it cannot use the portal's translations. Like Mollie's own
# payment screen it follows the payment's locale, else the browser's language, in the two
# languages the portal speaks.
CHECKOUT_TEXT = {
    "en": {
        "title": "Test payment",
        "notice": (
            "This is the payment screen of the fake Mollie server, used in development and "
            "tests. No money is moved."
        ),
        "amount": "Amount",
        "description": "Description",
        "choose": "Choose the outcome of this payment:",
        "paid": "Paid",
        "failed": "Failed",
        "canceled": "Canceled",
        "expired": "Expired",
        "unknown": "This payment does not exist.",
    },
    "nl": {
        "title": "Testbetaling",
        "notice": (
            "Dit is het betaalscherm van de nep-Mollie-server, voor ontwikkeling en tests. "
            "Er wordt geen geld overgemaakt."
        ),
        "amount": "Bedrag",
        "description": "Omschrijving",
        "choose": "Kies de uitkomst van deze betaling:",
        "paid": "Betaald",
        "failed": "Mislukt",
        "canceled": "Geannuleerd",
        "expired": "Verlopen",
        "unknown": "Deze betaling bestaat niet.",
    },
}


def checkout_language(*, locale: str | None, accept_language: str) -> str:
    preferred = locale or accept_language.split(",")[0]
    return "nl" if preferred.strip().lower().startswith("nl") else "en"


def render_page(*, language: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
        ".notice{background:#fff3cd;border:1px solid #e0c36c;padding:.75rem}"
        "button{font-size:1rem;margin:.25rem .25rem .25rem 0;padding:.5rem 1rem}</style>\n"
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )


def render_checkout(*, payment: Payment, language: str) -> str:
    text = CHECKOUT_TEXT[language]
    buttons = "".join(
        f'<button type="submit" name="status" value="{status}">{html.escape(text[status])}'
        "</button>\n"
        for status in FINAL_STATUSES
    )
    amount = f"{payment.amount['currency']} {payment.amount['value']}"
    body = (
        f"<h1>{html.escape(text['title'])}</h1>\n"
        f'<p class="notice">{html.escape(text["notice"])}</p>\n'
        "<dl>\n"
        f"<dt>{html.escape(text['amount'])}</dt><dd>{html.escape(amount)}</dd>\n"
        f"<dt>{html.escape(text['description'])}</dt><dd>{html.escape(payment.description)}</dd>\n"
        "</dl>\n"
        f"<p>{html.escape(text['choose'])}</p>\n"
        f'<form method="post" action="/checkout/{html.escape(payment.id)}">\n{buttons}</form>\n'
    )
    return render_page(language=language, title=text["title"], body=body)


class FakeMollieServer(ThreadingHTTPServer):
    """The HTTP server with the payments and the settings its handlers need."""

    daemon_threads = True
    # socketserver's backlog is 5: a burst of webhooks whose handlers all fetch their payment at
    # once overflowed it, and the refused connections made the client give up after its 2 s
    # connect timeout. Mollie's own API takes any burst.
    request_queue_size = 128

    def __init__(
        self,
        *,
        host: str,
        port: int,
        public_url: str | None = None,
        webhook_timeout: float = 10.0,
    ) -> None:
        super().__init__((host, port), FakeMollieHandler)
        self.store = PaymentStore()
        self.webhook_timeout = webhook_timeout
        bound_host, bound_port = self.server_address[:2]
        # A wildcard address is not somewhere a browser can be sent; the loopback address is.
        if ipaddress.ip_address(bound_host).is_unspecified:
            bound_host = "127.0.0.1"
        self.public_url = (public_url or f"http://{bound_host}:{bound_port}").rstrip("/")

    def change_status(
        self, *, payment_id: str, status: str, only_if_open: bool = False
    ) -> tuple[Payment, int | None]:
        """Set the status and deliver the webhook (outside the lock: the portal's webhook view
        fetches the payment back from this server while the delivery waits)."""
        result = self.store.set_status(
            payment_id=payment_id, status=status, only_if_open=only_if_open
        )
        if result is None:
            raise payment_not_found(payment_id)
        payment, applied = result
        if not applied:
            return payment, None
        logger.info("payment %s is %s", payment.id, payment.status)
        if payment.webhook_url is None:
            return payment, None
        webhook_status = deliver_webhook(
            url=payment.webhook_url, payment_id=payment.id, timeout=self.webhook_timeout
        )
        return payment, webhook_status


class FakeMollieHandler(BaseHTTPRequestHandler):
    server: FakeMollieServer
    server_version = "FakeMollie/1"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        try:
            if match := PAYMENT_PATH.match(path):
                self.require_api_key()
                self.send_payment(self.find_payment(match["id"]), documentation=DOCS_GET)
            elif match := CHECKOUT_PATH.match(path):
                self.show_checkout(match["id"])
            elif match := CONTROL_PATH.match(path):
                self.send_payment(self.find_payment(match["id"]), documentation=DOCS_GET)
            elif path == HEALTH_PATH:
                self.send_json(HTTPStatus.OK, {"status": "ok"})
            else:
                raise ApiError(status=HTTPStatus.NOT_FOUND, detail="The resource does not exist.")
        except ApiError as error:
            self.send_json(error.status, error.body())

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            if PAYMENTS_PATH.match(path):
                self.create_payment()
            elif match := CHECKOUT_PATH.match(path):
                self.choose_outcome(match["id"])
            elif match := CONTROL_PATH.match(path):
                self.control(match["id"])
            else:
                raise ApiError(status=HTTPStatus.NOT_FOUND, detail="The resource does not exist.")
        except ApiError as error:
            self.send_json(error.status, error.body())

    def create_payment(self) -> None:
        api_key = self.require_api_key()
        fields = validate_payment_request(self.read_json())
        try:
            payment, replayed = self.server.store.create(
                api_key=api_key,
                idempotency_key=self.headers.get("Idempotency-Key", ""),
                fields=fields,
            )
        except IdempotencyKeyReused:
            raise ApiError(
                status=HTTPStatus.UNPROCESSABLE_ENTITY,
                detail="The Idempotency-Key was already used for a request with another body.",
            ) from None
        if replayed:
            logger.info("payment %s replayed for its Idempotency-Key", payment.id)
        else:
            logger.info("payment %s created: %s", payment.id, payment.description)
        self.send_payment(
            payment,
            documentation=DOCS_CREATE,
            status=HTTPStatus.CREATED,
            headers={"Idempotent-Replayed": "true"} if replayed else {},
        )

    def control(self, payment_id: str) -> None:
        body = self.read_json()
        status = body.get("status") if isinstance(body, dict) else None
        if status not in FINAL_STATUSES:
            raise ApiError(
                status=HTTPStatus.BAD_REQUEST,
                detail=f"The status must be one of {', '.join(FINAL_STATUSES)}.",
                field="status",
            )
        payment, webhook_status = self.server.change_status(payment_id=payment_id, status=status)
        self.send_payment(
            payment,
            documentation=DOCS_GET,
            headers={"X-Fake-Webhook-Status": webhook_status_header(payment, webhook_status)},
        )

    def show_checkout(self, payment_id: str) -> None:
        payment = self.server.store.get(payment_id)
        if payment is None:
            self.send_unknown_payment_page()
            return
        # Mollie sends a consumer who comes back to a finished payment on to the shop.
        if payment.status != "open":
            self.send_redirect(payment.redirect_url)
            return
        language = checkout_language(
            locale=payment.locale, accept_language=self.headers.get("Accept-Language", "")
        )
        self.send_html(HTTPStatus.OK, render_checkout(payment=payment, language=language))

    def choose_outcome(self, payment_id: str) -> None:
        payment = self.server.store.get(payment_id)
        if payment is None:
            self.send_unknown_payment_page()
            return
        form = parse_qs(self.read_body().decode("utf-8", errors="replace"))
        status = form.get("status", [""])[0]
        if status not in FINAL_STATUSES:
            raise ApiError(status=HTTPStatus.BAD_REQUEST, detail="Choose a valid outcome.")
        # A second submit of the same screen finds the payment finished and changes nothing.
        self.server.change_status(payment_id=payment_id, status=status, only_if_open=True)
        self.send_redirect(payment.redirect_url)

    def require_api_key(self) -> str:
        scheme, _, api_key = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not API_KEY_RE.match(api_key.strip()):
            raise ApiError(
                status=HTTPStatus.UNAUTHORIZED,
                detail="Missing authentication, or failed to authenticate",
                documentation=DOCS_AUTHENTICATION,
            )
        return api_key.strip()

    def find_payment(self, payment_id: str) -> Payment:
        payment = self.server.store.get(payment_id)
        if payment is None:
            raise payment_not_found(payment_id)
        return payment

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def read_json(self) -> object:
        raw = self.read_body()
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(
                status=HTTPStatus.BAD_REQUEST, detail="The request body is not valid JSON."
            ) from None

    def send_payment(
        self,
        payment: Payment,
        *,
        documentation: str,
        status: HTTPStatus = HTTPStatus.OK,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = payment.as_json(base_url=self.server.public_url, documentation=documentation)
        self.send_json(status, body, headers=headers)

    def send_json(
        self, status: HTTPStatus, body: object, *, headers: dict[str, str] | None = None
    ) -> None:
        self.send_body(
            status, json.dumps(body).encode(), "application/hal+json", headers=headers or {}
        )

    def send_html(self, status: HTTPStatus, page: str) -> None:
        self.send_body(status, page.encode(), "text/html; charset=utf-8", headers={})

    def send_unknown_payment_page(self) -> None:
        language = checkout_language(
            locale=None, accept_language=self.headers.get("Accept-Language", "")
        )
        text = CHECKOUT_TEXT[language]
        body = f"<h1>{html.escape(text['title'])}</h1>\n<p>{html.escape(text['unknown'])}</p>\n"
        self.send_html(
            HTTPStatus.NOT_FOUND, render_page(language=language, title=text["title"], body=body)
        )

    def send_redirect(self, location: str) -> None:
        self.send_body(HTTPStatus.SEE_OTHER, b"", "text/plain", headers={"Location": location})

    def send_body(
        self, status: HTTPStatus, body: bytes, content_type: str, *, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def webhook_status_header(payment: Payment, webhook_status: int | None) -> str:
    if payment.webhook_url is None:
        return "not-sent"
    return "failed" if webhook_status is None else str(webhook_status)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m billing.fake_mollie",
        description=(
            "A fake Mollie v2 API for development and tests: create and fetch payments, a test "
            'payment screen, and POST /_fake/payments/{id} with {"status": "paid"} to settle '
            "a payment and deliver its webhook."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (8765)")
    parser.add_argument(
        "--public-url",
        help="base URL put in the payments' links (default: http://HOST:PORT)",
    )
    parser.add_argument(
        "--webhook-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for a webhook to be answered (10)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    server = FakeMollieServer(
        host=arguments.host,
        port=arguments.port,
        public_url=arguments.public_url,
        webhook_timeout=arguments.webhook_timeout,
    )
    logger.info("fake Mollie listening on %s", server.public_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("fake Mollie stopped")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
