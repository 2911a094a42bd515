"""Writes for orders, payments, invoices and credit notes (SPEC §12).

Every service owns its transaction; PDFs and mails are queued with `transaction.on_commit`, so a
worker never sees an invoice that was rolled back. Callers set the register scope (middleware,
tasks, commands).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from billing.models import (
    PAYMENT_TRANSITIONS,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    LicenceNotice,
    NoticeKind,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    SupplierProfile,
)
from billing.payments import get_provider
from billing.payments.base import PaymentProviderError
from licences.models import Company, Licence, LicenceSource, LicenceStatus, Membership, Role
from licences.selectors import (
    add_months,
    cancellation_deadline,
    licences_due_for_renewal,
    licences_due_for_renewal_notice,
    products_for_company,
)
from licences.services import (
    licence_renew,
    licence_renewal_notice_mark_sent,
    licences_activate,
)
from register.errors import DomainError, NotFound
from register.models import Register
from register.tokens import token_hash

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
CURRENCY = "EUR"
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


def order_create(*, company: Company, lines: list[dict], created_by=None) -> Order:
    """An open order of catalogue products for `company`.

    `lines` are `{"product": code, "quantity": n, "campaign": Campaign | None}`. A product not
    offered to the company's type and size is refused; nl marking and download licences need a
    campaign of the company. An order that costs nothing (the free upload licence) is settled at
    once: there is nothing to pay or invoice.
    """
    priced = _price_lines(company=company, lines=lines)
    with transaction.atomic():
        order = _order_from_lines(
            company=company, priced=priced, kind=OrderKind.PURCHASE, created_by=created_by
        )
        if order.total_incl_vat == 0:
            _order_settle_paid(order=order, payment_reference="")
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


def _order_settle_paid(*, order: Order, payment_reference: str) -> Invoice | None:
    """Marks a locked, open order paid, activates its licences and issues its invoice."""
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
        )
    if order.total_incl_vat == 0:
        return None
    return _invoice_issue(order=order, payment_reference=payment_reference)


# Invoices


def _next_number(*, register: Register, kind: str, year: int) -> int:
    """The next number of a series; the counter row stays locked until the caller commits."""
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(register=register, kind=kind, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(
        register=register, kind=kind, year=year
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def invoice_number(*, prefix: str, kind: str, year: int, sequence: int) -> str:
    series = prefix if kind == InvoiceKind.INVOICE else f"{prefix}-CN"
    return f"{series}-{year}-{sequence:06d}"


def _address(*lines: str) -> str:
    return "\n".join(line for line in lines if line.strip())


def _customer_email(company: Company) -> str:
    if company.billing_email:
        return company.billing_email
    owner = (
        Membership.objects.filter(company=company, role=Role.OWNER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return owner.user.email if owner else ""


def _invoice_issue(*, order: Order, payment_reference: str) -> Invoice:
    """Issues the invoice of a paid order inside the caller's transaction."""
    register = order.register
    company = order.company
    supplier = SupplierProfile.objects.get(register=register)
    issued_on = register.today()
    sequence = _next_number(register=register, kind=InvoiceKind.INVOICE, year=issued_on.year)
    invoice = Invoice.objects.create(
        register=register,
        company=company,
        kind=InvoiceKind.INVOICE,
        order=order,
        number=invoice_number(
            prefix=supplier.invoice_prefix,
            kind=InvoiceKind.INVOICE,
            year=issued_on.year,
            sequence=sequence,
        ),
        year=issued_on.year,
        sequence=sequence,
        issued_on=issued_on,
        # Licences are usable at once after payment (seed 000): supplied on the day paid.
        supplied_on=issued_on,
        currency=CURRENCY,
        supplier_name=supplier.legal_name,
        supplier_address=_address(
            supplier.street, f"{supplier.postcode} {supplier.city}", supplier.country
        ),
        supplier_vat_id=supplier.vat_id,
        supplier_chamber_number=supplier.chamber_number,
        supplier_iban=supplier.iban,
        supplier_email=supplier.email,
        customer_name=company.name,
        customer_address=_address(
            company.street, f"{company.postcode} {company.city}", company.country
        ),
        customer_vat_id=company.vat_id,
        customer_chamber_number=company.chamber_number,
        customer_email=_customer_email(company),
        vat_rate=order.vat_rate,
        total_excl_vat=order.total_excl_vat,
        vat_amount=order.vat_amount,
        total_incl_vat=order.total_incl_vat,
        payment_reference=payment_reference,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_excl_vat=line.total_excl_vat,
            vat_amount=line.vat_amount,
        )
        for position, line in enumerate(order.lines.all(), start=1)
    )
    _queue_delivery(invoice)
    return invoice


def _queue_delivery(invoice: Invoice) -> None:
    from billing.tasks import invoice_deliver

    invoice_id = invoice.pk
    transaction.on_commit(lambda: invoice_deliver.delay(invoice_id))


def credit_note_issue(*, invoice: Invoice, reason: str) -> Invoice:
    """A credit note reversing `invoice` in full, from its own gapless series (SPEC §12).

    The invoice itself never changes; the credit note copies its parties and lines with negated
    amounts. An invoice is credited once.
    """
    if invoice.kind != InvoiceKind.INVOICE:
        raise DomainError(_("Only an invoice can be credited."), code="not_an_invoice")
    if not reason.strip():
        raise DomainError(_("Give the reason for the credit note."), code="reason_required")
    with transaction.atomic():
        # Lock the invoice so two staff crediting it at once make one credit note.
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if Invoice.objects.filter(corrects=invoice, kind=InvoiceKind.CREDIT_NOTE).exists():
            raise DomainError(
                _("Invoice %(number)s has already been credited.") % {"number": invoice.number},
                code="already_credited",
            )
        register = invoice.register
        supplier = SupplierProfile.objects.get(register=register)
        issued_on = register.today()
        sequence = _next_number(
            register=register, kind=InvoiceKind.CREDIT_NOTE, year=issued_on.year
        )
        copied = {
            field: getattr(invoice, field)
            for field in (
                "register",
                "company",
                "order",
                "currency",
                "supplier_name",
                "supplier_address",
                "supplier_vat_id",
                "supplier_chamber_number",
                "supplier_iban",
                "supplier_email",
                "customer_name",
                "customer_address",
                "customer_vat_id",
                "customer_chamber_number",
                "customer_email",
                "vat_rate",
                "payment_reference",
                "supplied_on",
            )
        }
        credit_note = Invoice.objects.create(
            **copied,
            kind=InvoiceKind.CREDIT_NOTE,
            corrects=invoice,
            reason=reason.strip(),
            number=invoice_number(
                prefix=supplier.invoice_prefix,
                kind=InvoiceKind.CREDIT_NOTE,
                year=issued_on.year,
                sequence=sequence,
            ),
            year=issued_on.year,
            sequence=sequence,
            issued_on=issued_on,
            total_excl_vat=-invoice.total_excl_vat,
            vat_amount=-invoice.vat_amount,
            total_incl_vat=-invoice.total_incl_vat,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=credit_note,
                position=line.position,
                description=line.description,
                quantity=-line.quantity,
                unit_price=line.unit_price,
                total_excl_vat=-line.total_excl_vat,
                vat_amount=-line.vat_amount,
            )
            for line in invoice.lines.all()
        )
        _queue_delivery(credit_note)
    return credit_note


def invoice_pdf_render(*, invoice_id: int) -> Invoice | None:
    """Renders and stores the PDF once; a second run finds it there. None if the invoice is gone
    (a task queued by a transaction that was later undone in tests, or never committed)."""
    from weasyprint import HTML

    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
        if invoice is None or invoice.pdf:
            return invoice
        with translation.override(invoice.register.default_language):
            html = render_to_string(
                "billing/invoice_pdf.html",
                {"invoice": invoice, "lines": list(invoice.lines.all())},
            )
        pdf = HTML(string=html, base_url=str(settings.BASE_DIR / "templates")).write_pdf()
        # An unguessable name: the PDF is only ever served through an access check.
        name = f"{invoice.register.slug}/{invoice.year}/{secrets.token_urlsafe(24)}.pdf"
        invoice.pdf.save(name, ContentFile(pdf), save=False)
        invoice.pdf_rendered_at = timezone.now()
        invoice.save(update_fields=["pdf", "pdf_rendered_at"])
    return invoice


def invoice_mail(*, invoice_id: int) -> bool:
    """Mails the invoice with its PDF to the customer once; True if this call sent it.

    The row lock is held while sending, so a duplicate task waits and then finds it mailed; a
    failed send rolls back `mailed_at` and the task's retry sends it.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
        if invoice is None or invoice.mailed_at is not None or not invoice.pdf:
            return False
        if not invoice.customer_email:
            logger.warning("invoice %s has no e-mail address to go to", invoice.number)
            return False
        register = invoice.register
        context = {"invoice": invoice, "register": register}
        with translation.override(register.default_language):
            subject = render_to_string("mail/billing/invoice_subject.txt", context).strip()
            body = render_to_string("mail/billing/invoice_body.txt", context)
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[invoice.customer_email],
            reply_to=[invoice.supplier_email],
        )
        with invoice.pdf.open("rb") as pdf:
            message.attach(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
        message.send()
        invoice.mailed_at = timezone.now()
        invoice.save(update_fields=["mailed_at"])
    return True


# Renewals and licence notices (SPEC §13): daily, idempotent


# nl: the reminder goes out this long before the last day to cancel (2 months before renewal).
CANCELLATION_REMINDER_LEAD_MONTHS = 1


def register_base_url(register: Register) -> str:
    """Where a scheduled mail links to: there is no request to take the host from."""
    return settings.PORTAL_BASE_URL_TEMPLATE.format(host=register.hostnames[0]).rstrip("/")


def _licence_mail(*, licence: Licence, template: str, context: dict[str, Any]) -> None:
    register = licence.company.register
    recipient = _customer_email(licence.company)
    if not recipient:
        logger.warning("company %s has no e-mail address for %s", licence.company_id, template)
        return
    context = {"licence": licence, "company": licence.company, "register": register, **context}
    with translation.override(register.default_language):
        subject = render_to_string(f"mail/billing/{template}_subject.txt", context).strip()
        body = render_to_string(f"mail/billing/{template}_body.txt", context)
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        reply_to=[register.support_email],
    ).send()


def renewal_notices_send(*, register: Register, today) -> int:
    """be: tells each company two months before expiry that its annual licence renews tacitly
    and until when it can cancel (seed 001). Returns how many were sent; a rerun sends none."""
    sent = 0
    for licence in licences_due_for_renewal_notice(register=register, on=today):
        # Claim and send in one transaction: a failed send gives the claim back for tomorrow.
        with transaction.atomic():
            if not licence_renewal_notice_mark_sent(licence=licence):
                continue
            _licence_mail(
                licence=licence,
                template="renewal_notice",
                context={
                    "deadline": cancellation_deadline(licence),
                    "price": licence.product.price,
                    "vat_rate": register.vat_rate,
                },
            )
            sent += 1
    return sent


def cancellation_reminders_send(*, register: Register, today) -> int:
    """nl: reminds a company a month ahead of the last day it can cancel a renewing licence
    (2 months before renewal, seed 000). Licences that get the be renewal notice are left out.
    Returns how many were sent; a rerun sends none."""
    candidates = Licence.objects.filter(
        register=register,
        status=LicenceStatus.ACTIVE,
        renews=True,
        ends_on__gte=today,
        product__renewal_notice_months__isnull=True,
        product__cancellation_notice_months__isnull=False,
    ).select_related("product", "company__register")
    sent = 0
    for licence in candidates:
        deadline = cancellation_deadline(licence)
        if not add_months(deadline, -CANCELLATION_REMINDER_LEAD_MONTHS) <= today <= deadline:
            continue
        with transaction.atomic():
            notice, created = LicenceNotice.objects.get_or_create(
                register=register, licence=licence, kind=NoticeKind.CANCELLATION_DEADLINE
            )
            if not created:
                continue
            _licence_mail(
                licence=licence, template="cancellation_reminder", context={"deadline": deadline}
            )
            notice.mailed_at = timezone.now()
            notice.save(update_fields=["mailed_at"])
            sent += 1
    return sent


def renewals_run(*, register: Register, today, base_url: str) -> int:
    """Renews the licences due (a new period, tacitly), orders the period and mails the payment
    link. Each step finds what an earlier, interrupted run did, so running twice or resuming
    after a crash makes no second period, order or mail. Returns how many links were mailed."""
    mailed = 0
    for licence in licences_due_for_renewal(register=register, on=today):
        renewed = licence_renew(licence=licence)
        with transaction.atomic():
            notice = (
                LicenceNotice.objects.select_for_update(of=("self",))
                .filter(licence=renewed, kind=NoticeKind.RENEWAL_ORDER)
                .first()
            )
            if notice is None:
                notice = LicenceNotice.objects.create(
                    register=register,
                    licence=renewed,
                    kind=NoticeKind.RENEWAL_ORDER,
                    order=renewal_order_create(licence=renewed),
                )
        if notice.mailed_at is not None:
            continue
        order = notice.order
        payment = (
            payment_start(order=order, base_url=base_url)
            if order.status == OrderStatus.OPEN
            else None
        )
        with transaction.atomic():
            notice = LicenceNotice.objects.select_for_update(of=("self",)).get(pk=notice.pk)
            if notice.mailed_at is not None:
                continue
            _licence_mail(
                licence=renewed,
                template="renewal_payment",
                context={"order": order, "payment": payment},
            )
            notice.mailed_at = timezone.now()
            notice.save(update_fields=["mailed_at"])
            mailed += 1
    return mailed
