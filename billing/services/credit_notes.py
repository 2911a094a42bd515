"""Credit notes (SPEC §12): the whole of an invoice, some of its lines, or an amount, each from
the register's own gapless credit note series, never more than the invoice together.

What a credit note may take back is decided twice: here, under the invoice's row lock, to give
staff a clear message; and by the database (the triggers of migration billing 0006), which
refuses credit notes whose totals exceed their invoice, or credited quantities that exceed a
line, whichever writer and however many at once.

Seed 000: used licences are not refunded. Crediting a line takes back what is still unused of
it (the campaign's remaining credits, download licences not downloaded with); a credit note that
would also refund used credits or a used download is refused unless staff give an override with
a reason, which is logged (`credit_note.override`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice, InvoiceKind, InvoiceLine, OrderLine, SupplierProfile
from billing.services.einvoices import ADDRESS_PART_FIELDS
from billing.services.invoices import invoice_number, next_number, queue_delivery
from billing.services.orders import money, vat_of
from licences.models import CreditAccount, CreditEntry, Licence, LicenceStatus, ProductKind
from licences.services import credits_spend, licence_withdraw
from register.audit import log_action
from register.errors import DomainError

# The constraint names the triggers of migration 0006 raise under.
WITHIN_INVOICE = "credit_notes_within_invoice"
WITHIN_LINE = "credited_quantity_within_line"

# Copied from the invoice onto each of its credit notes.
COPIED_FIELDS = (
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
    *ADDRESS_PART_FIELDS,
)


@dataclass(frozen=True)
class LineBalance:
    """What of one invoice line is not credited yet."""

    line: InvoiceLine
    quantity: int
    total_excl_vat: Decimal
    vat_amount: Decimal


@dataclass(frozen=True)
class InvoiceBalance:
    """What of an invoice is not credited yet: its lines and its totals."""

    lines: dict[int, LineBalance]
    total_excl_vat: Decimal
    vat_amount: Decimal

    @property
    def total_incl_vat(self) -> Decimal:
        return self.total_excl_vat + self.vat_amount


def invoice_balance(invoice: Invoice) -> InvoiceBalance:
    """The uncredited rest of an invoice, per line (keyed by position) and in total."""
    credited = {
        row["credits_line"]: row
        for row in InvoiceLine.objects.filter(credits_line__invoice=invoice)
        .values("credits_line")
        .annotate(quantity=Sum("quantity"), excl=Sum("total_excl_vat"), vat=Sum("vat_amount"))
    }
    lines = {}
    for line in invoice.lines.all():
        taken = credited.get(line.pk, {"quantity": 0, "excl": Decimal(0), "vat": Decimal(0)})
        # A credit note's quantities and amounts are negative: adding them subtracts.
        lines[line.position] = LineBalance(
            line=line,
            quantity=line.quantity + taken["quantity"],
            total_excl_vat=line.total_excl_vat + taken["excl"],
            vat_amount=line.vat_amount + taken["vat"],
        )
    notes = Invoice.objects.filter(corrects=invoice, kind=InvoiceKind.CREDIT_NOTE).aggregate(
        excl=Sum("total_excl_vat"), vat=Sum("vat_amount")
    )
    return InvoiceBalance(
        lines=lines,
        total_excl_vat=invoice.total_excl_vat + (notes["excl"] or 0),
        vat_amount=invoice.vat_amount + (notes["vat"] or 0),
    )


@dataclass
class _Refund:
    """What crediting takes back of the licences an invoice paid for, and what of that was used."""

    used: list[str] = field(default_factory=list)
    # (campaign, credits) to take back, and the unused download licences to withdraw.
    credits: list[tuple[object, int]] = field(default_factory=list)
    licences: list[Licence] = field(default_factory=list)


def _order_line(invoice: Invoice, position: int) -> OrderLine | None:
    """The order line an invoice line was copied from: the invoice copies its order's lines in
    order, numbered from 1 (`invoice_issue`)."""
    if invoice.order_id is None:
        return None
    lines = list(OrderLine.objects.filter(order_id=invoice.order_id).order_by("id"))
    return lines[position - 1] if 0 < position <= len(lines) else None


def _refund_of_line(invoice: Invoice, position: int, quantity: int, refund: _Refund) -> None:
    """Adds to `refund` what crediting `quantity` of the line at `position` takes back."""
    order_line = _order_line(invoice, position)
    if order_line is None:
        return
    product = order_line.product
    if product.kind == ProductKind.MARKING and order_line.campaign_id and product.credits:
        needed = product.credits * quantity
        account = (
            CreditAccount.objects.select_for_update(of=("self",))
            .filter(campaign_id=order_line.campaign_id)
            .first()
        )
        balance = account.balance if account else 0
        # Credits are spent from one account per campaign: what is left of it is unused.
        if balance < needed:
            refund.used.append(
                _("%(line)s: %(used)d of its %(needed)d credits are used")
                % {"line": order_line.description, "used": needed - balance, "needed": needed}
            )
        if min(balance, needed):
            refund.credits.append((order_line.campaign, min(balance, needed)))
    elif product.kind == ProductKind.DOWNLOAD:
        unused = list(
            Licence.objects.select_for_update(of=("self",))
            .filter(
                reference=order_line.licence_reference,
                download__isnull=True,
                status__in=[LicenceStatus.ACTIVE, LicenceStatus.CANCELLED],
            )
            .order_by("pk")[:quantity]
        )
        if len(unused) < quantity:
            refund.used.append(
                _("%(line)s: %(used)d download(s) made")
                % {"line": order_line.description, "used": quantity - len(unused)}
            )
        refund.licences.extend(unused)


def _parse_quantities(lines: Mapping[int, int], balance: InvoiceBalance) -> dict[int, int]:
    quantities = {}
    for position, quantity in lines.items():
        if position not in balance.lines:
            raise DomainError(
                _("The invoice has no line %(line)s.") % {"line": position}, code="no_such_line"
            )
        if quantity < 0 or quantity > balance.lines[position].quantity:
            raise DomainError(
                _("Line %(line)s can be credited for at most %(quantity)d.")
                % {"line": position, "quantity": balance.lines[position].quantity},
                code="exceeds_line",
            )
        if quantity:
            quantities[position] = quantity
    if not quantities:
        raise DomainError(_("Choose what to credit."), code="nothing_to_credit")
    return quantities


def _credit_lines(
    invoice: Invoice, balance: InvoiceBalance, quantities: dict[int, int]
) -> list[InvoiceLine]:
    """Unsaved credit note lines for `quantities` of the invoice's lines."""
    credit_lines = []
    for position, quantity in sorted(quantities.items()):
        rest = balance.lines[position]
        line = rest.line
        if quantity == rest.quantity:
            # The whole rest of the line: its remaining amounts exactly, so a line credited in
            # parts adds up to the line as invoiced whatever the rounding of each part.
            excl, vat = rest.total_excl_vat, rest.vat_amount
        else:
            excl = money(line.unit_price * quantity)
            vat = vat_of(excl, invoice.vat_rate)
        credit_lines.append(
            InvoiceLine(
                credits_line=line,
                description=line.description,
                quantity=-quantity,
                unit_price=line.unit_price,
                total_excl_vat=-excl,
                vat_amount=-vat,
            )
        )
    return credit_lines


def _amount_line(invoice: Invoice, balance: InvoiceBalance, amount, reason: str) -> InvoiceLine:
    try:
        amount = money(Decimal(amount))
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(_("Give the amount as a number."), code="invalid_amount") from None
    if amount <= 0:
        raise DomainError(_("The amount must be more than zero."), code="invalid_amount")
    if amount > balance.total_excl_vat:
        raise DomainError(
            _("At most %(amount)s excl. VAT of this invoice is not credited yet.")
            % {"amount": balance.total_excl_vat},
            code="exceeds_invoice",
        )
    # The whole rest: its VAT exactly, so the invoice is credited to the cent.
    vat = (
        balance.vat_amount if amount == balance.total_excl_vat else vat_of(amount, invoice.vat_rate)
    )
    return InvoiceLine(
        description=str(_("Credit on invoice %(number)s: %(reason)s"))
        % {"number": invoice.number, "reason": reason},
        quantity=-1,
        unit_price=amount,
        total_excl_vat=-amount,
        vat_amount=-vat,
    )


def credit_note_issue(
    *,
    invoice: Invoice,
    reason: str,
    actor=None,
    lines: Mapping[int, int] | None = None,
    amount: Decimal | str | None = None,
    override_reason: str = "",
) -> Invoice:
    """A credit note on `invoice`, from the register's own gapless series (SPEC §12).

    What it credits: `lines`, {position: quantity} of the invoice's lines; or `amount`, excl.
    VAT, as one line; or, with neither, all that is not credited yet. Crediting lines takes back
    their unused credits and download licences. Refunding used ones needs `override_reason`.
    The invoice itself never changes. `actor`: the staff member who issues it.
    """
    if invoice.kind != InvoiceKind.INVOICE:
        raise DomainError(_("Only an invoice can be credited."), code="not_an_invoice")
    reason = reason.strip()
    override_reason = override_reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for the credit note."), code="reason_required")
    if lines is not None and amount is not None:
        raise DomainError(_("Credit either lines or an amount."), code="lines_or_amount")
    with transaction.atomic():
        # Two staff crediting the same invoice at once: the second waits, then sees the first.
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        balance = invoice_balance(invoice)
        if balance.total_incl_vat <= 0 and balance.total_excl_vat <= 0:
            raise DomainError(
                _("Invoice %(number)s has already been credited.") % {"number": invoice.number},
                code="already_credited",
            )
        refund = _Refund()
        if amount is not None:
            credit_lines = [_amount_line(invoice, balance, amount, reason)]
            # An amount takes no licence back, but refunds money paid for them.
            for position, rest in balance.lines.items():
                _refund_of_line(invoice, position, rest.quantity, _Refund(used=refund.used))
        else:
            quantities = _parse_quantities(
                lines
                if lines is not None
                else {position: rest.quantity for position, rest in balance.lines.items()},
                balance,
            )
            credit_lines = _credit_lines(invoice, balance, quantities)
            for position, quantity in quantities.items():
                _refund_of_line(invoice, position, quantity, refund)
        if refund.used and not override_reason:
            raise DomainError(
                _(
                    "Used licences are not refunded (%(used)s). To credit them anyway, give the "
                    "reason for the exception."
                )
                % {"used": "; ".join(str(used) for used in refund.used)},
                code="used_licence",
            )
        credit_note = _credit_note_create(invoice, reason=reason, credit_lines=credit_lines)
        _take_back(credit_note, refund, actor=actor)
        log_action(
            register=invoice.register,
            actor=actor,
            action="credit_note.issued",
            target=credit_note,
            data={
                "number": credit_note.number,
                "invoice": invoice.number,
                "total_incl_vat": credit_note.total_incl_vat,
                "reason": credit_note.reason,
            },
        )
        if refund.used:
            log_action(
                register=invoice.register,
                actor=actor,
                action="credit_note.override",
                target=credit_note,
                data={
                    "number": credit_note.number,
                    "invoice": invoice.number,
                    "used": [str(used) for used in refund.used],
                    "override_reason": override_reason,
                },
            )
        queue_delivery(credit_note)
    return credit_note


def _credit_note_create(invoice: Invoice, *, reason: str, credit_lines: list[InvoiceLine]):
    register = invoice.register
    supplier = SupplierProfile.objects.get(register=register)
    issued_on = register.today()
    sequence = next_number(register=register, kind=InvoiceKind.CREDIT_NOTE, year=issued_on.year)
    total_excl = sum((line.total_excl_vat for line in credit_lines), Decimal("0.00"))
    vat = sum((line.vat_amount for line in credit_lines), Decimal("0.00"))
    try:
        # Its own savepoint: the database's refusal leaves the caller's transaction usable.
        with transaction.atomic():
            credit_note = Invoice.objects.create(
                **{name: getattr(invoice, name) for name in COPIED_FIELDS},
                kind=InvoiceKind.CREDIT_NOTE,
                corrects=invoice,
                reason=reason,
                number=invoice_number(
                    prefix=supplier.invoice_prefix,
                    kind=InvoiceKind.CREDIT_NOTE,
                    year=issued_on.year,
                    sequence=sequence,
                ),
                year=issued_on.year,
                sequence=sequence,
                issued_on=issued_on,
                total_excl_vat=total_excl,
                vat_amount=vat,
                total_incl_vat=total_excl + vat,
            )
            for position, line in enumerate(credit_lines, start=1):
                line.invoice = credit_note
                line.position = position
            InvoiceLine.objects.bulk_create(credit_lines)
    except IntegrityError as error:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint in (WITHIN_INVOICE, WITHIN_LINE):
            raise DomainError(
                _("The credit notes of invoice %(number)s would exceed it.")
                % {"number": invoice.number},
                code="exceeds_invoice",
            ) from error
        raise
    return credit_note


def _take_back(credit_note: Invoice, refund: _Refund, *, actor) -> None:
    """Takes back the unused credits and download licences the credit note refunds."""
    for index, (campaign, credits) in enumerate(refund.credits, start=1):
        credits_spend(
            campaign=campaign,
            amount=credits,
            reference=f"credit-note:{credit_note.pk}:{index}",
            reason=CreditEntry.Reason.CREDITED,
        )
    for licence in refund.licences:
        licence_withdraw(
            licence=licence,
            actor=actor,
            reason=str(_("credited on %(number)s") % {"number": credit_note.number}),
        )
