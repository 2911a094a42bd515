"""Registration files: new registrations a company collected in calls or by IVR (SPEC §11).

A company holding the free upload licence (seed 000) delivers them as a pipe-separated file;
each row is registered, reported as already registered, or refused, and rows delivered more than
10 working days after the consumer's request are registered but flagged late.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from register.models import Register


class FileStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("processing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    # Over the company's daily limit of rows (REGISTRATION_ROWS_PER_DAY): nothing registered.
    REFUSED = "refused", _("refused")


class RowReason(models.TextChoices):
    """Why a row of a file is listed in its report: refused, or registered late."""

    INVALID = "invalid", _("not a valid phone number")
    FOREIGN = "foreign", _("a number of another country")
    SERVICE = "service", _("a service number, not a consumer's")
    BAD_CATEGORIES = "bad_categories", _("categories not ALL or codes of this register")
    BAD_DATE = "bad_date", _("request date not YYYY-MM-DD, or in the future")
    WRONG_COLUMNS = "wrong_columns", _("not three columns number|categories|requested_on")
    LATE = "late", _("registered, but delivered more than 10 working days after the request")


def registration_file_path(instance, filename: str) -> str:
    # An unguessable name: the file is never served; the company's own name is kept in `filename`.
    return f"registrations/{instance.register.slug}/{secrets.token_urlsafe(24)}"


class RegistrationFile(models.Model):
    """One uploaded file of registrations and its report (the counts and the listed rows).

    `registered + already_registered + invalid == rows_total` once done; `late` counts the rows
    among the registered and already registered that came in after the legal term.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        "licences.Company",
        on_delete=models.PROTECT,
        related_name="registration_files",
        verbose_name=_("company"),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    filename = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to=registration_file_path, max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    status = models.CharField(
        _("status"), max_length=10, choices=FileStatus.choices, default=FileStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    registered = models.PositiveIntegerField(_("registered"), default=0)
    already_registered = models.PositiveIntegerField(_("already registered"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    late = models.PositiveIntegerField(_("late"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # A revert by register staff (SPEC §11): the counts above stay what the processing did.
    reverted_at = models.DateTimeField(_("reverted at"), null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reverted by"),
    )
    reverted_numbers = models.PositiveIntegerField(
        _("numbers reverted"),
        default=0,
        help_text=_("Unblocked, or their categories narrowed back, by the revert."),
    )
    revert_kept = models.PositiveIntegerField(
        _("numbers kept"),
        default=0,
        help_text=_("Numbers the file wrote that had another act since, left as they are."),
    )

    # When the file and its report's numbers were erased (config.retention): the counts stay.
    personal_data_erased_at = models.DateTimeField(_("numbers erased at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("registration file")
        verbose_name_plural = _("registration files")
        ordering = ["-created_at", "-id"]
        permissions = [("revert_registrationfile", _("Can revert a registration file"))]
        indexes = [
            # The company's list of files in the portal, newest first.
            models.Index(fields=["company", "-created_at"], name="registration_file_company"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=FileStatus.DONE)
                | Q(
                    rows_total=models.F("registered")
                    + models.F("already_registered")
                    + models.F("invalid")
                ),
                name="registration_file_counts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(reverted_at__isnull=True)
                | Q(status=FileStatus.DONE, reverted_by__isnull=False),
                name="registration_file_reverted_when_done_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.company})"

    @property
    def reference(self) -> str:
        """How the file's events in the register's history name it (RegisterEvent.reference)."""
        return f"registration-file:{self.pk}"


class RegistrationRow(models.Model):
    """A row of a file the report lists: refused (with the reason) or registered late."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    file = models.ForeignKey(
        RegistrationFile,
        on_delete=models.CASCADE,
        related_name="rows",
        verbose_name=_("registration file"),
    )
    line = models.PositiveIntegerField(_("line"))
    number = models.CharField(
        _("number"), max_length=40, help_text=_("As the file gives it, shortened.")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=RowReason.choices)
    requested_on = models.DateField(_("requested on"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("reported row")
        verbose_name_plural = _("reported rows")
        ordering = ["file", "line"]
        constraints = [
            models.UniqueConstraint(fields=["file", "line"], name="registration_row_once"),
        ]

    def __str__(self) -> str:
        return f"{self.line}: {self.reason}"
