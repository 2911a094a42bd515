"""Mollie through the real `mollie-api-python` client (SPEC §12).

`MOLLIE_API_ENDPOINT` points the client at the fake Mollie in development and tests; empty means
Mollie itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from mollie.api.client import Client
from mollie.api.error import Error as MollieError

from billing.payments.base import PaymentProvider, PaymentProviderError, ProviderPayment


class MollieProvider(PaymentProvider):
    name = "mollie"

    def __init__(self) -> None:
        self.client = Client()
        if settings.MOLLIE_API_ENDPOINT:
            self.client.set_api_endpoint(settings.MOLLIE_API_ENDPOINT)
        self.client.set_api_key(settings.MOLLIE_API_KEY)

    def create(
        self,
        *,
        amount: Decimal,
        currency: str,
        description: str,
        redirect_url: str,
        webhook_url: str,
        metadata: dict[str, Any],
        idempotency_key: str,
        locale: str | None = None,
    ) -> ProviderPayment:
        data: dict[str, Any] = {
            "amount": {"currency": currency, "value": f"{amount:.2f}"},
            "description": description,
            "redirectUrl": redirect_url,
            "webhookUrl": webhook_url,
            "metadata": metadata,
        }
        if locale:
            data["locale"] = locale
        try:
            payment = self.client.payments.create(data, idempotency_key=idempotency_key)
        except MollieError as error:
            raise PaymentProviderError() from error
        return self._as_provider_payment(payment)

    def fetch(self, provider_id: str) -> ProviderPayment:
        try:
            payment = self.client.payments.get(provider_id)
        except MollieError as error:
            raise PaymentProviderError() from error
        return self._as_provider_payment(payment)

    @staticmethod
    def _as_provider_payment(payment) -> ProviderPayment:
        return ProviderPayment(
            id=payment.id,
            status=payment.status,
            amount=Decimal(payment.amount["value"]),
            currency=payment.amount["currency"],
            metadata=payment.metadata or {},
            checkout_url=payment.checkout_url or "",
        )
