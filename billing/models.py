"""Orders, Mollie payments, invoices and credit notes (SPEC §12).

Money is `DecimalField` in euros with two decimals; VAT is rounded half up to the cent per line
and the totals are sums of the lines, so an invoice adds up line by line as printed.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from django_scopes import ScopedManager

from licences.identifiers import identifiers_clean
from licences.models import Company, Licence, LicenceProduct
from register.models import Register

MONEY = {"max_digits": 12, "decimal_places": 2}


class SupplierProfile(models.Model):
    """The register operator as it appears on its invoices: the supplier party (SPEC §12).

    Kept apart from `Register` because it is what an accountant edits, and copied onto every
    invoice at issue, so a later change of address never rewrites an issued invoice.
    """

    register = models.OneToOneField(
        Register,
        on_delete=models.PROTECT,
        related_name="supplier_profile",
        verbose_name=_("register"),
    )
    legal_name = models.CharField(_("legal name"), max_length=200)
    street = models.CharField(_("street and number"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=12)
    city = models.CharField(_("city"), max_length=100)
    country = CountryField(_("country"))
    vat_id = models.CharField(_("VAT id"), max_length=20)
    chamber_number = models.CharField(
        _("chamber of commerce number"), max_length=20, help_text=_("KvK or KBO")
    )
    iban = models.CharField(_("IBAN"), max_length=34)
    email = models.EmailField(_("invoice e-mail"))
    invoice_prefix = models.CharField(
        _("invoice number prefix"), max_length=8, help_text=_("For example NL: NL-2026-000001.")
    )

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("supplier profile")
        verbose_name_plural = _("supplier profiles")

    def __str__(self) -> str:
        return self.legal_name

    def clean(self):
        identifiers_clean(
            self,
            country=str(self.country),
            fields={
                "chamber_number": "chamber",
                "vat_id": "vat",
                "postcode": "postcode",
                "iban": "iban",
            },
        )


class OrderStatus(models.TextChoices):
    OPEN = "open", _("open")
    PAID = "paid", _("paid")
    FAILED = "failed", _("failed")
    CANCELED = "canceled", _("canceled")
    EXPIRED = "expired", _("expired")


class OrderKind(models.TextChoices):
    PURCHASE = "purchase", _("purchase")
    RENEWAL = "renewal", _("tacit renewal")


class Order(models.Model):
    """What a company buys: lines of catalogue products, priced when ordered (SPEC §12)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="orders", verbose_name=_("company")
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=OrderKind.choices, default=OrderKind.PURCHASE
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2)
    total_excl_vat = models.DecimalField(_("total excl. VAT"), **MONEY)
    vat_amount = models.DecimalField(_("VAT"), **MONEY)
    total_incl_vat = models.DecimalField(_("total incl. VAT"), **MONEY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_incl_vat=models.F("total_excl_vat") + models.F("vat_amount")),
                name="order_total_adds_up",
            ),
            models.CheckConstraint(condition=Q(total_excl_vat__gte=0), name="order_not_negative"),
        ]

    def __str__(self) -> str:
        return _("Order %(id)s") % {"id": self.pk}


class OrderLine(models.Model):
    """One product of an order; price and description copied from the catalogue when ordered."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order")
    )
    product = models.ForeignKey(LicenceProduct, on_delete=models.PROTECT, verbose_name=_("product"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("campaign"),
    )
    # A renewal order pays for a licence period that already exists (the renewal is tacit):
    # paying it issues the invoice but activates nothing new.
    renewed_licence = models.ForeignKey(
        Licence,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("renewed licence"),
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price excl. VAT"), **MONEY)
    total_excl_vat = models.DecimalField(_("total excl. VAT"), **MONEY)
    vat_amount = models.DecimalField(_("VAT"), **MONEY)

    objects = ScopedManager(register="order__register")

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"

    @property
    def licence_reference(self) -> str:
        """The reference that makes activating this line happen once (licences_activate)."""
        return f"order-line:{self.pk}"


class PaymentStatus(models.TextChoices):
    OPEN = "open", _("open")
    PAID = "paid", _("paid")
    FAILED = "failed", _("failed")
    CANCELED = "canceled", _("canceled")
    EXPIRED = "expired", _("expired")


# Mollie's statuses a payment may move to from each of ours; `paid` and the failures are final.
# Mollie's own intermediate statuses (pending, authorized) leave our payment open.
PAYMENT_TRANSITIONS = {
    PaymentStatus.OPEN: {
        PaymentStatus.PAID,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELED,
        PaymentStatus.EXPIRED,
    },
}


class Payment(models.Model):
    """One attempt to pay an order at Mollie.

    The webhook URL carries a secret token of this payment; only its SHA-256 is stored, so a
    database reader cannot forge webhooks and a token posted for another payment matches nothing.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="payments", verbose_name=_("order")
    )
    provider = models.CharField(_("provider"), max_length=20, default="mollie")
    # Empty until the provider has answered the creation; unique once known.
    provider_id = models.CharField(
        _("provider's payment id"), max_length=64, null=True, blank=True, unique=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.OPEN
    )
    amount = models.DecimalField(_("amount incl. VAT"), **MONEY)
    checkout_url = models.URLField(_("checkout URL"), max_length=500, blank=True)
    webhook_token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.provider_id or f"payment {self.pk}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")


class InvoiceCounter(models.Model):
    """The last number issued per register, kind and year.

    Issuing locks this row (`select_for_update`) in the transaction that creates the invoice, so
    two payments settled at once take consecutive numbers, and a rolled-back transaction gives
    its number back: the series stays gapless. The unique constraint on Invoice guards the rest.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    last = models.PositiveIntegerField(_("last number"), default=0)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")
        constraints = [
            models.UniqueConstraint(
                fields=["register", "kind", "year"], name="one_invoice_counter_per_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"


class Invoice(models.Model):
    """An invoice or credit note: a legal document, immutable once issued (SPEC §12, STYLE 7).

    Supplier and customer data and the lines are copied at issue. Only the delivery fields
    (`DELIVERY_FIELDS`) change afterwards; `save()` refuses anything else and a database trigger
    (migration 0003) refuses it for any other writer. Corrections are credit notes, which have
    their own gapless series and negative amounts, and may take back part of an invoice: some of
    its lines or an amount; together they never exceed it.

    The addresses are copied twice: as printed on the PDF (`*_address`) and in their parts
    (street, postcode, city, country), which the Peppol UBL document needs as separate elements
    (`billing.ubl`). Invoices issued before the parts were copied (migration 0005) have them
    empty. The UBL document (`xml`) is rendered after the PDF, which it embeds.
    """

    DELIVERY_FIELDS = frozenset({"pdf", "pdf_rendered_at", "xml", "mailed_at"})

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("company")
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("order"),
    )
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("corrects invoice"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    number = models.CharField(_("number"), max_length=30)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    issued_on = models.DateField(_("issue date"))
    supplied_on = models.DateField(_("supply date"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    supplier_name = models.CharField(_("supplier"), max_length=200)
    supplier_address = models.TextField(_("supplier address"))
    supplier_street = models.CharField(_("supplier street"), max_length=200, blank=True)
    supplier_postcode = models.CharField(_("supplier postcode"), max_length=12, blank=True)
    supplier_city = models.CharField(_("supplier city"), max_length=100, blank=True)
    supplier_country = models.CharField(_("supplier country"), max_length=2, blank=True)
    supplier_vat_id = models.CharField(_("supplier VAT id"), max_length=20)
    supplier_chamber_number = models.CharField(_("supplier KvK/KBO"), max_length=20)
    supplier_iban = models.CharField(_("supplier IBAN"), max_length=34)
    supplier_email = models.EmailField(_("supplier e-mail"))
    customer_name = models.CharField(_("customer"), max_length=200)
    customer_address = models.TextField(_("customer address"))
    customer_street = models.CharField(_("customer street"), max_length=200, blank=True)
    customer_postcode = models.CharField(_("customer postcode"), max_length=12, blank=True)
    customer_city = models.CharField(_("customer city"), max_length=100, blank=True)
    customer_country = models.CharField(_("customer country"), max_length=2, blank=True)
    customer_vat_id = models.CharField(_("customer VAT id"), max_length=20, blank=True)
    customer_chamber_number = models.CharField(_("customer KvK/KBO"), max_length=20, blank=True)
    customer_email = models.EmailField(_("customer e-mail"), blank=True)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2)
    total_excl_vat = models.DecimalField(_("total excl. VAT"), **MONEY)
    vat_amount = models.DecimalField(_("VAT"), **MONEY)
    total_incl_vat = models.DecimalField(_("total incl. VAT"), **MONEY)
    payment_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    # The bank transfer reference of the supplier's country where it has a structured one
    # (Belgium: OGM/VCS, +++123/4567/89002+++), printed and in the UBL's PaymentID.
    structured_reference = models.CharField(
        _("structured payment reference"), max_length=30, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    pdf = models.FileField(_("PDF"), upload_to="invoices/", blank=True)
    pdf_rendered_at = models.DateTimeField(_("PDF rendered at"), null=True, blank=True)
    xml = models.FileField(_("Peppol UBL XML"), upload_to="invoices/", blank=True)
    mailed_at = models.DateTimeField(_("mailed at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_on", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["register", "kind", "year", "sequence"], name="invoice_sequence_unique"
            ),
            models.UniqueConstraint(fields=["register", "number"], name="invoice_number_unique"),
            # One invoice per order: a webhook replayed after the lock still cannot invoice
            # twice. An invoice may have several credit notes, which together never exceed it
            # (a trigger of migration 0006, since a check constraint sees one row only).
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(kind="invoice"),
                name="one_invoice_per_order",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", total_incl_vat__gte=0, total_excl_vat__gte=0)
                | Q(kind="credit_note", total_incl_vat__lte=0, total_excl_vat__lte=0),
                name="credit_note_amounts_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_incl_vat=models.F("total_excl_vat") + models.F("vat_amount")),
                name="invoice_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", corrects__isnull=True)
                | Q(kind="credit_note", corrects__isnull=False),
                name="credit_note_corrects_an_invoice",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.DELIVERY_FIELDS:
                raise InvoiceImmutable(self.number)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise InvoiceImmutable(self.number)


class InvoiceImmutable(Exception):
    """An issued invoice was about to be changed or deleted: correct it with a credit note."""


class InvoiceLine(models.Model):
    """A line copied onto an invoice at issue; immutable with it (same trigger)."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="lines", verbose_name=_("invoice")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    # A credit note's line that takes back (part of) one line of the invoice it corrects; empty
    # for an invoice's lines and for a credit of an amount. Credited quantities of a line never
    # exceed it (a trigger of migration 0006).
    credits_line = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credited_by",
        verbose_name=_("credits invoice line"),
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.IntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price excl. VAT"), **MONEY)
    total_excl_vat = models.DecimalField(_("total excl. VAT"), **MONEY)
    vat_amount = models.DecimalField(_("VAT"), **MONEY)

    objects = ScopedManager(register="invoice__register")

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


class NoticeKind(models.TextChoices):
    CANCELLATION_DEADLINE = "cancellation_deadline", _("cancellation deadline reminder")
    RENEWAL_ORDER = "renewal_order", _("renewal order and payment link")


class LicenceNotice(models.Model):
    """A scheduled mail about a licence, so the daily task sends it once (SPEC §13).

    The be renewal notice is recorded on the licence itself (`renewal_notice_sent_at`, a
    licences service); these are billing's own: cancellation-deadline reminders and the renewal
    order with its payment link (`mailed_at` empty until the mail went out).
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    licence = models.ForeignKey(
        Licence, on_delete=models.PROTECT, related_name="+", verbose_name=_("licence")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=NoticeKind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("order")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    mailed_at = models.DateTimeField(_("mailed at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("licence notice")
        verbose_name_plural = _("licence notices")
        constraints = [
            models.UniqueConstraint(fields=["licence", "kind"], name="licence_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.licence_id}"
