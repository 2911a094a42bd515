"""Orders and their payments (SPEC §12): priced by the catalogue as offered to the company,
paid at Mollie, settled once however many webhooks and returns arrive; a paid order activates its
licences and issues its invoice."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from billing.models import (
    PAYMENT_TRANSITIONS,
    Invoice,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
)
from billing.payments import get_provider
from billing.payments.base import PaymentProviderError
from billing.selectors import order_invoice
from billing.services.invoices import CURRENCY, invoice_issue, invoice_redeliver
from licences.models import Company, Licence, LicenceSource
from licences.selectors import products_for_company
from licences.services import NotForSale, licences_activate
from register.errors import DomainError, NotFound
from register.tokens import token_hash

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
MAX_QUANTITY = 100
MOLLIE_LOCALES = {"nl": "nl_NL", "en": "en_US", "fr": "fr_BE"}


class PaymentMismatch(DomainError):
    """The provider's payment is not the one we created for this order: grant nothing."""

    code = "payment_mismatch"
    message = _("The payment does not match its order.")
    status = 400


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_of(amount: Decimal, rate: Decimal) -> Decimal:
    """VAT of one line, rounded half up to the cent; totals are sums of rounded lines."""
    return money(amount * rate / Decimal(100))


# Orders


@dataclass(frozen=True)
class PricedLine:
    product: Any
    campaign: Any
    quantity: int
    description: str
    unit_price: Decimal
    total_excl_vat: Decimal
    vat_amount: Decimal


def _line_description(product, campaign, language: str) -> str:
    name = product.name(language)
    if campaign is None:
        return name
    return f"{name} — {campaign.name}"


def _price_lines(*, company: Company, lines: list[dict]) -> list[PricedLine]:
    """Prices by the catalogue as offered to this company's type and size (SPEC §7)."""
    if not lines:
        raise DomainError(_("An order needs at least one line."), code="order_empty")
    register = company.register
    offered = {product.code: product for product in products_for_company(company=company)}
    priced = []
    for line in lines:
        product = offered.get(line.get("product"))
        if product is None:
            raise DomainError(
                _("The product %(code)s is not offered to your company.")
                % {"code": line.get("product")},
                code="product_not_offered",
            )
        if not product.for_sale:
            raise NotForSale(product=product)
        quantity = line.get("quantity", 1)
        if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise DomainError(
                _("The quantity must be between 1 and %(max)s.") % {"max": MAX_QUANTITY},
                code="invalid_quantity",
            )
        campaign = line.get("campaign")
        if product.requires_campaign:
            if campaign is None:
                raise DomainError(
                    _("The product %(code)s is bought for a campaign: choose one.")
                    % {"code": product.code},
                    code="campaign_required",
                )
            if campaign.company_id != company.pk:
                raise NotFound
        else:
            campaign = None
        total = money(product.price * quantity)
        priced.append(
            PricedLine(
                product=product,
                campaign=campaign,
                quantity=quantity,
                description=_line_description(product, campaign, register.default_language),
                unit_price=product.price,
                total_excl_vat=total,
                vat_amount=vat_of(total, register.vat_rate),
            )
        )
    return priced


def _order_from_lines(
    *, company: Company, priced: list[PricedLine], kind: str, created_by, renewed_licence=None
) -> Order:
    total_excl_vat = sum((line.total_excl_vat for line in priced), Decimal("0.00"))
    vat_amount = sum((line.vat_amount for line in priced), Decimal("0.00"))
    order = Order.objects.create(
        register=company.register,
        company=company,
        kind=kind,
        created_by=created_by,
        vat_rate=company.register.vat_rate,
        total_excl_vat=total_excl_vat,
        vat_amount=vat_amount,
        total_incl_vat=total_excl_vat + vat_amount,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=line.product,
            campaign=line.campaign,
            renewed_licence=renewed_licence,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_excl_vat=line.total_excl_vat,
            vat_amount=line.vat_amount,
        )
        for line in priced
    )
    return order


def order_create(*, company: Company, lines: list[dict], created_by=None, actor=None) -> Order:
    """An open order of catalogue products for `company`.

    `lines` are `{"product": code, "quantity": n, "campaign": Campaign | None}`. A product not
    offered to the company's type and size is refused; nl marking and download licences need a
    campaign of the company. An order that costs nothing (the free upload licence) is settled at
    once: there is nothing to pay or invoice, and the action log names `actor` (by default
    `created_by`; an API key's label through the API) for its licences.
    """
    priced = _price_lines(company=company, lines=lines)
    with transaction.atomic():
        order = _order_from_lines(
            company=company, priced=priced, kind=OrderKind.PURCHASE, created_by=created_by
        )
        if order.total_incl_vat == 0:
            _order_settle_paid(
                order=order,
                payment_reference="",
                actor=actor if actor is not None else created_by,
            )
    return order


def renewal_order_create(*, licence: Licence) -> Order:
    """The order paying for the next period of a tacitly renewed licence (SPEC §13).

    Priced by today's catalogue; paying it invoices the period, which already exists.
    """
    product = licence.product
    register = licence.company.register
    total = money(product.price)
    priced = [
        PricedLine(
            product=product,
            campaign=licence.campaign,
            quantity=1,
            description=(
                f"{product.name(register.default_language)} "
                f"{licence.starts_on.isoformat()} – {licence.ends_on.isoformat()}"
            ),
            unit_price=product.price,
            total_excl_vat=total,
            vat_amount=vat_of(total, register.vat_rate),
        )
    ]
    with transaction.atomic():
        return _order_from_lines(
            company=licence.company,
            priced=priced,
            kind=OrderKind.RENEWAL,
            created_by=None,
            renewed_licence=licence,
        )


# Payments


def payment_start(*, order: Order, base_url: str, return_url: str | None = None) -> Payment:
    """Starts paying `order` at Mollie; the payment's `checkout_url` is where the payer goes.

    `base_url` is the scheme and host the request came in on (`request.build_absolute_uri("/")`
    without the slash), so the webhook reaches this register. The webhook URL carries a secret
    token of this payment only. An order that already has a payment in progress gets that one
    back instead of a second one, so a double click cannot charge twice.
    """
    base_url = base_url.rstrip("/")
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if order.status != OrderStatus.OPEN or order.total_incl_vat <= 0:
            raise DomainError(_("This order cannot be paid."), code="order_not_payable")
        current = order.payments.filter(status=PaymentStatus.OPEN).first()
        if current is not None:
            return current
        token = secrets.token_urlsafe(32)
        payment = Payment.objects.create(
            register=order.register,
            order=order,
            amount=order.total_incl_vat,
            webhook_token_hash=token_hash(token),
        )
    webhook_url = base_url + reverse("billing_webhooks:mollie", kwargs={"token": token})
    if return_url is None:
        return_url = base_url + reverse("billing:order", kwargs={"order_id": order.pk})
    try:
        created = get_provider().create(
            amount=payment.amount,
            currency=CURRENCY,
            description=str(
                _("%(register)s order %(id)s") % {"register": order.register.name, "id": order.pk}
            ),
            redirect_url=return_url,
            webhook_url=webhook_url,
            metadata={"order_id": order.pk, "payment_id": payment.pk},
            # Retrying this payment's creation can never make a second payment at Mollie.
            idempotency_key=f"{order.register.slug}-payment-{payment.pk}",
            locale=MOLLIE_LOCALES.get(translation.get_language() or ""),
        )
    except PaymentProviderError:
        # Never reached Mollie: close this attempt so the order can be paid again.
        Payment.objects.filter(pk=payment.pk, provider_id=None).update(
            status=PaymentStatus.FAILED, settled_at=timezone.now()
        )
        raise
    payment.provider_id = created.id
    payment.checkout_url = created.checkout_url
    payment.save(update_fields=["provider_id", "checkout_url"])
    return payment


def payment_sync(*, payment_id: str, token: str | None = None) -> Payment:
    """Brings our payment up to date with Mollie's: the webhook and the return page call this.

    `payment_id` is Mollie's id (`tr_…`). With `token` (the webhook) the id must be the payment
    that token was made for, so a paid id replayed on another order's webhook matches nothing.
    The payment is fetched from Mollie, never taken from the posted body, and its amount and
    order must be ours. Only allowed transitions apply (open → paid, failed, canceled, expired;
    the rest is final), under row locks, so any number and order of webhooks and returns
    activates the licences and issues the invoice exactly once.
    """
    payment = (
        Payment.objects.filter(provider_id=payment_id).select_related("order").first()
        if payment_id
        else None
    )
    if payment is None:
        raise NotFound
    if token is not None and not secrets.compare_digest(
        token_hash(token), payment.webhook_token_hash
    ):
        raise NotFound
    if payment.status != PaymentStatus.OPEN:
        if payment.status == PaymentStatus.PAID:
            # A webhook for a payment settled already: Mollie retrying after an answer it did
            # not like (the publish of the delivery failed, say). The invoice is not mailed
            # twice, but one not yet delivered is queued again now.
            invoice = order_invoice(order=payment.order)
            if invoice is not None:
                invoice_redeliver(invoice=invoice)
        return payment

    # Fetched before any lock is taken: a slow Mollie must not hold rows others wait for.
    remote = get_provider().fetch(payment_id)
    if (
        remote.id != payment.provider_id
        or remote.currency != CURRENCY
        or remote.amount != payment.amount
        or str(remote.metadata.get("order_id")) != str(payment.order_id)
        or str(remote.metadata.get("payment_id")) != str(payment.pk)
    ):
        logger.warning("payment %s does not match order %s", payment_id, payment.order_id)
        raise PaymentMismatch
    if remote.status not in PAYMENT_TRANSITIONS[PaymentStatus.OPEN]:
        return payment

    with transaction.atomic():
        # Twenty webhooks at once queue here rather than being answered 5xx (as pretix-mollie
        # does): what the lock guards is a few inserts, never a call out, so waiting is short,
        # and each waiter then finds the payment final and changes nothing.
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("order")
            .get(pk=payment.pk)
        )
        if remote.status not in PAYMENT_TRANSITIONS.get(payment.status, set()):
            return payment
        order = Order.objects.select_for_update(of=("self",)).get(pk=payment.order_id)
        payment.status = remote.status
        payment.settled_at = timezone.now()
        payment.save(update_fields=["status", "settled_at"])
        if order.status == OrderStatus.OPEN:
            if remote.status == PaymentStatus.PAID:
                _order_settle_paid(order=order, payment_reference=payment.provider_id)
            else:
                order.status = remote.status
                order.save(update_fields=["status"])
        elif remote.status == PaymentStatus.PAID:
            # Paid twice (a second payment of an order already settled): money to give back.
            logger.error(
                "order %s was already %s; payment %s paid", order.pk, order.status, payment
            )
    return payment


def _order_settle_paid(*, order: Order, payment_reference: str, actor=None) -> Invoice | None:
    """Marks a locked, open order paid, activates its licences and issues its invoice.

    The action log names `actor` for the activations: the user who placed an order that costs
    nothing, None (the system) when the payment provider reported the payment.
    """
    order.status = OrderStatus.PAID
    order.paid_at = timezone.now()
    order.save(update_fields=["status", "paid_at"])
    for line in order.lines.select_related("product", "campaign"):
        if line.renewed_licence_id is not None:
            continue
        licences_activate(
            company=order.company,
            product=line.product,
            quantity=line.quantity,
            campaign=line.campaign,
            source=LicenceSource.ORDER,
            reference=line.licence_reference,
            actor=actor,
            log_data={
                "order": order.pk,
                "ordered_by": order.created_by.email if order.created_by else "",
                "amount_excl_vat": line.total_excl_vat,
                "order_total_incl_vat": order.total_incl_vat,
                "payment": payment_reference,
            },
        )
    if order.total_incl_vat == 0:
        return None
    return invoice_issue(order=order, payment_reference=payment_reference)
