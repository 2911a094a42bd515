"""What a payment provider is to billing (STYLE 6).

A provider is a thin adapter around a payment service's API. It MAY:

- create a payment for an amount and hand back the provider's id and checkout URL;
- fetch a payment by the provider's id and report its status, amount and metadata as the
  provider holds them;
- raise `PaymentProviderError` when the service cannot be reached or refuses the request.

It MAY NOT:

- touch the database, orders, licences or invoices: billing's services decide what a status
  means, under their own locks;
- trust anything a webhook posted: the webhook only says *which* payment to fetch;
- retry a creation without the same idempotency key, which could charge a customer twice.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from register.errors import DomainError


class PaymentProviderError(DomainError):
    """The provider could not be reached or refused: nothing was changed on our side."""

    code = "payment_provider_error"
    message = _("The payment service is not available right now. Please try again later.")
    status = 502


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider reports it."""

    id: str
    # The provider's status; Mollie's intermediate statuses (pending, authorized) pass through.
    status: str
    amount: Decimal
    currency: str
    metadata: dict[str, Any] = field(default_factory=dict)
    checkout_url: str = ""


class PaymentProvider(abc.ABC):
    name: str

    @abc.abstractmethod
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
        """Create a payment; the same `idempotency_key` and data give back the same payment."""

    @abc.abstractmethod
    def fetch(self, provider_id: str) -> ProviderPayment:
        """The payment as the provider holds it now; unknown ids raise PaymentProviderError."""
