"""Companies and their people, the licence catalogue, licences, credits, API keys (SPEC §6-§7)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from django_scopes import ScopedManager, scopes_disabled

from licences.identifiers import identifiers_clean
from register.models import Register
from register.phone.modelfields import ContactPhoneNumberField


class CompanyType(models.TextChoices):
    ADVERTISER = "advertiser", _("advertiser")
    SERVICE_PROVIDER = "service_provider", _("service provider (call centre, data processor)")


class EmployeeBand(models.TextChoices):
    # Seed 001 prices by "at most 250" and "more than 250" employees.
    UP_TO_250 = "up_to_250", _("up to 250 employees")
    OVER_250 = "over_250", _("more than 250 employees")

    @classmethod
    def for_count(cls, employees: int) -> "EmployeeBand":
        return cls.UP_TO_250 if employees <= 250 else cls.OVER_250


class Company(models.Model):
    """A licensee: advertiser or service provider, in one register (SPEC §6)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    name = models.CharField(_("legal name"), max_length=200)
    chamber_number = models.CharField(
        _("chamber of commerce number"), max_length=20, blank=True, help_text=_("KvK or KBO")
    )
    vat_id = models.CharField(_("VAT id"), max_length=20, blank=True)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = CountryField(_("country"), default="NL")
    company_type = models.CharField(
        _("company type"),
        max_length=20,
        choices=CompanyType.choices,
        default=CompanyType.ADVERTISER,
    )
    employee_band = models.CharField(
        _("employees"), max_length=10, choices=EmployeeBand.choices, default=EmployeeBand.UP_TO_250
    )
    billing_email = models.EmailField(_("billing e-mail"), blank=True)
    phone = ContactPhoneNumberField(
        _("contact telephone"), help_text=_("The service desk calls back on this number.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        constraints = [
            # One company per chamber of commerce number in a register (issue #12); companies
            # that have not given theirs are not alike.
            models.UniqueConstraint(
                fields=["register", "chamber_number"],
                condition=~Q(chamber_number=""),
                name="company_chamber_number_unique_in_register",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """Identifiers checked and written one way (licences.identifiers); the chamber of
        commerce number free in the register (also a constraint, for any other writer)."""
        identifiers_clean(
            self,
            country=str(self.country),
            fields={"chamber_number": "chamber", "vat_id": "vat", "postcode": "postcode"},
        )
        if self.chamber_number and self.register_id:
            with scopes_disabled():
                taken = (
                    Company.objects.filter(
                        register_id=self.register_id, chamber_number=self.chamber_number
                    )
                    .exclude(pk=self.pk)
                    .exists()
                )
            if taken:
                raise ValidationError(
                    {
                        "chamber_number": _(
                            "A company with this chamber of commerce number is already registered."
                        )
                    }
                )


class Role(models.TextChoices):
    OWNER = "owner", _("owner")
    MEMBER = "member", _("member")
    ACCOUNTING = "accounting", _("accounting")


class Membership(models.Model):
    """A user's place in a company; a user may be in several companies (SPEC §3, §6)."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("company")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(register="company__register")

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["company", "user"], name="one_membership_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company} ({self.role})"


class ProductKind(models.TextChoices):
    MARKING = "marking", _("marking credits")
    DOWNLOAD = "download", _("full-list download")
    SERVICE = "service", _("service licence")
    UPLOAD = "upload", _("upload licence")
    ACCESS = "access", _("register access (list, search, API, marking)")


class Term(models.TextChoices):
    NONE = "none", _("no end date")
    MONTH = "month", _("one month")
    YEAR = "year", _("one year")


class LicenceProduct(models.Model):
    """One product of a register's catalogue (SPEC §7): data, so a register changes it in admin."""

    register = models.ForeignKey(
        Register, on_delete=models.PROTECT, related_name="products", verbose_name=_("register")
    )
    code = models.SlugField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=ProductKind.choices)
    names = models.JSONField(_("names"), help_text=_('Per language: {"nl": …, "en": …}.'))
    price = models.DecimalField(_("price excl. VAT"), max_digits=10, decimal_places=2)
    credits = models.PositiveIntegerField(_("records (credits)"), null=True, blank=True)
    term = models.CharField(_("term"), max_length=5, choices=Term.choices, default=Term.NONE)
    company_type = models.CharField(
        _("for company type"), max_length=20, choices=CompanyType.choices, blank=True
    )
    employee_band = models.CharField(
        _("for employees"), max_length=10, choices=EmployeeBand.choices, blank=True
    )
    requires_campaign = models.BooleanField(
        _("added to a campaign"), default=False, help_text=_("nl: licences belong to a campaign.")
    )
    renews = models.BooleanField(_("renews tacitly"), default=False)
    cancellation_notice_months = models.PositiveSmallIntegerField(
        _("cancel at the latest (months before renewal)"), null=True, blank=True
    )
    renewal_notice_months = models.PositiveSmallIntegerField(
        _("renewal notice (months before expiry)"), null=True, blank=True
    )
    checks_per_minute = models.PositiveSmallIntegerField(
        _("number checks per minute"), null=True, blank=True
    )
    download_extension_days = models.PositiveSmallIntegerField(
        _("extends a campaign's download by (days)"),
        null=True,
        blank=True,
        help_text=_("nl service licence: a call centre extends a download once, free."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("on sale"), default=True)
    # The nl upload licence writes into the national register: free, but granted by register
    # staff on request (SPEC §11), so never bought by a self-served (€0) order.
    for_sale = models.BooleanField(
        _("sold in the shop"),
        default=True,
        help_text=_("Off: companies request it in the portal and register staff grant it."),
    )

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("licence product")
        verbose_name_plural = _("licence products")
        ordering = ["register", "position"]
        constraints = [
            models.UniqueConstraint(fields=["register", "code"], name="product_code_per_register"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.code

    def is_for(self, company: Company) -> bool:
        """Whether the catalogue offers this product to the company's type and size."""
        return (not self.company_type or self.company_type == company.company_type) and (
            not self.employee_band or self.employee_band == company.employee_band
        )


class LicenceStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    EXPIRED = "expired", _("expired")
    CANCELLED = "cancelled", _("cancelled (ends at its end date)")


class LicenceSource(models.TextChoices):
    ORDER = "order", _("paid order")
    GRANT = "grant", _("granted by the register (no payment)")
    RENEWAL = "renewal", _("tacit renewal")


class Licence(models.Model):
    """A company's right to use a product, for a period (SPEC §7).

    nl licences hang on a campaign (seed 000); be licences are company-wide. A cancelled
    licence stays usable until its end date: there is no early termination (seeds 000, 001).
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="licences", verbose_name=_("company")
    )
    product = models.ForeignKey(LicenceProduct, on_delete=models.PROTECT, verbose_name=_("product"))
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="licences",
        verbose_name=_("campaign"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=LicenceStatus.choices, default=LicenceStatus.ACTIVE
    )
    source = models.CharField(_("source"), max_length=10, choices=LicenceSource.choices)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    renews = models.BooleanField(_("renews tacitly"), default=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("What created it, e.g. an order line or a grant; activating twice is a no-op."),
    )
    renewal_notice_sent_at = models.DateTimeField(
        _("renewal notice sent at"), null=True, blank=True
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    renewal_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewed_by",
        verbose_name=_("renewal of"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="licence_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} — {self.company}"


class UploadLicenceRequestStatus(models.TextChoices):
    PENDING = "pending", _("waiting for the register")
    GRANTED = "granted", _("granted")
    DECLINED = "declined", _("declined")


class UploadLicenceRequest(models.Model):
    """A company's request for the upload licence, which register staff grant or decline in the
    admin (SPEC §11): who asked and when, who decided and when, and the licence granted."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        related_name="upload_licence_requests",
        verbose_name=_("company"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=UploadLicenceRequestStatus.choices,
        default=UploadLicenceRequestStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    licence = models.OneToOneField(
        Licence,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="upload_request",
        verbose_name=_("licence granted"),
    )

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("upload licence request")
        verbose_name_plural = _("upload licence requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # Asking twice while the register has not decided adds nothing to its queue.
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(status="pending"),
                name="one_pending_upload_request_per_company",
            ),
            models.CheckConstraint(
                condition=Q(status="pending")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="upload_request_decision_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status="granted") | Q(licence__isnull=False),
                name="upload_request_granted_has_licence",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} ({self.get_status_display()})"


class CreditAccount(models.Model):
    """The record credits of one campaign (nl: credits are per campaign, seed 000).

    The balance never goes below zero: a CheckConstraint, and spenders lock the row
    (`select_for_update`) before reading it, so two scrubs cannot both spend the last credits.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(Company, on_delete=models.PROTECT, verbose_name=_("company"))
    campaign = models.OneToOneField(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        related_name="credit_account",
        verbose_name=_("campaign"),
    )
    balance = models.PositiveIntegerField(_("balance"), default=0)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.balance}"


class CreditEntry(models.Model):
    """One movement of a credit account, append-only; `reference` makes each spend happen once."""

    class Reason(models.TextChoices):
        PURCHASE = "purchase", _("licence bought")
        GRANT = "grant", _("licence granted")
        SCRUB = "scrub", _("call file marked")
        CHECK = "check", _("numbers checked")
        # Unused credits taken back when their purchase is credited (billing credit notes).
        CREDITED = "credited", _("credited on a credit note")

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    account = models.ForeignKey(
        CreditAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account")
    )
    licence = models.ForeignKey(
        Licence, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("licence")
    )
    delta = models.IntegerField(_("change"))
    balance_after = models.PositiveIntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    reference = models.CharField(
        _("reference"), max_length=100, help_text=_("What caused it, e.g. scrub:42; unique.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "reference"], name="credit_entry_once_per_reference"
            ),
            models.CheckConstraint(condition=~Q(delta=0), name="credit_entry_changes_balance"),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.reference}"


class ApiKey(models.Model):
    """A company's key for the API in one register; shown once, stored as a SHA-256 hash (§3)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, help_text=_("Shown to tell keys apart."))
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
