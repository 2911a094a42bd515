"""Campaigns: what a company calls for, and who runs the calls (SPEC §6)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from licences.models import Company
from register.models import Register

# The purpose of a campaign in a register without categories (be: one full block).
DEFAULT_PURPOSE = "commercial"


class ProviderStatus(models.TextChoices):
    NONE = "", _("no call centre")
    INVITED = "invited", _("invited")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")


class Campaign(models.Model):
    """A calling campaign of an advertiser, optionally run by a service provider (call centre).

    Once the provider accepts, it sees and uses the campaign's files and downloads: advertiser
    and call centre are both responsible for consulting the register (seeds 001, 002).
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=200)
    purpose = models.SlugField(
        _("purpose"), max_length=30, help_text=_("One of the register's blocking categories.")
    )
    service_provider = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provided_campaigns",
        verbose_name=_("call centre"),
    )
    provider_status = models.CharField(
        _("call centre status"),
        max_length=10,
        choices=ProviderStatus.choices,
        default=ProviderStatus.NONE,
        blank=True,
    )
    provider_responded_at = models.DateTimeField(
        _("call centre answered at"), null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(service_provider=models.F("company")),
                name="campaign_provider_is_another_company",
            ),
            models.CheckConstraint(
                condition=Q(service_provider__isnull=True, provider_status="")
                | Q(service_provider__isnull=False) & ~Q(provider_status=""),
                name="campaign_provider_status_matches",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OptOutSource(models.TextChoices):
    PORTAL = "portal", _("portal")
    API = "api", _("API")
    UPLOAD = "upload", _("file upload")


class CompanyOptOut(models.Model):
    """A number that told this company not to call it ("recht van verzet", seeds 002, 004).

    Applied in every check and scrub of the company whatever the register says, and never shared
    with another company (SPEC §6). Stored as E.164 digits like the register, so a check joins
    both on the same key.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="opt_outs", verbose_name=_("company")
    )
    number = models.BigIntegerField(_("number"))
    source = models.CharField(_("source"), max_length=10, choices=OptOutSource.choices)
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Also the index of every check: `company = %s AND number = ANY(%s)`.
            models.UniqueConstraint(fields=["company", "number"], name="opt_out_once_per_company"),
        ]

    def __str__(self) -> str:
        from register.phone import format_international

        return format_international(self.number)
