"""Campaigns: what a company calls for, and who runs the calls (SPEC §6)."""

import secrets

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


class DownloadKind(models.TextChoices):
    FULL = "full", _("full list")
    DELTA = "delta", _("changes since a moment")


class DownloadStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Download(models.Model):
    """A licensee's download of the register, full or delta (SPEC §9), and the record of it.

    nl: each uses up one paid `download` licence of a campaign (the one-to-one key makes a licence
    usable once); be: included in the company's access licence. The file may be used until
    `valid_until`; the call centre running the campaign may extend that once (seed 000).
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="downloads", verbose_name=_("company")
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="downloads",
        verbose_name=_("campaign"),
    )
    kind = models.CharField(_("kind"), max_length=5, choices=DownloadKind.choices)
    since = models.DateTimeField(_("changes since"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DownloadStatus.choices,
        default=DownloadStatus.QUEUED,
    )
    licence = models.OneToOneField(
        "licences.Licence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="download",
        verbose_name=_("licence used"),
    )
    rows = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    file = models.FileField(_("file"), upload_to="downloads/", blank=True)
    # The register's state the file shows: every change before this moment is in it. A later
    # delta "since the last download" starts here.
    covers_until = models.DateTimeField(_("covers changes until"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    extended_until = models.DateField(_("extended until"), null=True, blank=True)
    extended_by = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("extended by"),
    )
    extended_at = models.DateTimeField(_("extended at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("download")
        verbose_name_plural = _("downloads")
        ordering = ["-created_at", "-id"]
        indexes = [
            # A delta "since the last download": the company's latest finished one.
            models.Index(
                fields=["company", "-covers_until"],
                condition=Q(status="done"),
                name="download_done_per_company",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="full", since__isnull=True) | Q(kind="delta", since__isnull=False),
                name="download_delta_has_since",
            ),
            models.CheckConstraint(
                condition=Q(extended_until__isnull=True)
                | Q(extended_by__isnull=False, extended_until__gt=models.F("valid_until")),
                name="download_extension_by_someone_later",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def usable_until(self):
        return self.extended_until or self.valid_until


class CallFileStatus(models.TextChoices):
    # Uploaded in the portal and waiting for the user to confirm the detected settings; the API
    # queues at once and never shows a draft.
    DRAFT = "draft", _("awaiting confirmation")
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("marking")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    REJECTED = "rejected", _("rejected")


class FileKind(models.TextChoices):
    DELIMITED = "csv", _("text (CSV/TXT)")
    XLSX = "xlsx", _("Excel workbook (XLSX)")


def call_file_path(instance, filename: str) -> str:
    # An unguessable name: the upload is never served back; the user's own name is `filename`.
    return f"call-files/{instance.register.slug}/{secrets.token_urlsafe(24)}"


class CallFile(models.Model):
    """A call file a company had marked against the register (a scrub, SPEC §8), and its proof.

    The upload and its result are deleted when the use period ends (SPEC §8.9); this record, its
    counts and the certificate stay as the proof of consultation an inspector asks for.
    `rows_total` counts the data records offered (blank lines are none): what nl charges. With
    `leave_out_duplicates` the later repeats of a number are left out of the file sent for
    marking (issue #13): not offered, not marked, not charged; `rows_left_out` counts them.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="call_files", verbose_name=_("company")
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="call_files", verbose_name=_("campaign")
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
    file = models.FileField(_("file"), upload_to=call_file_path, max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    # How the file is read: detected at upload, corrected by the user or the API's fields.
    kind = models.CharField(_("file type"), max_length=4, choices=FileKind.choices)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, blank=True)
    has_header = models.BooleanField(_("first row is a header"), default=False)
    phone_column = models.PositiveSmallIntegerField(_("phone column (1-based)"), default=1)
    opt_in_column = models.PositiveSmallIntegerField(
        _("opt-in date column (1-based)"), null=True, blank=True
    )
    leave_out_duplicates = models.BooleanField(_("leave out repeated numbers"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=CallFileStatus.choices, default=CallFileStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    # The records the running job expects: estimated from the file's size while it reads,
    # exact once read; the status page turns the progress into rows done and time left.
    rows_expected = models.PositiveIntegerField(_("records expected"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(_("records"), null=True, blank=True)
    rows_blocked = models.PositiveIntegerField(_("blocked"), null=True, blank=True)
    rows_callable = models.PositiveIntegerField(_("callable"), null=True, blank=True)
    rows_invalid = models.PositiveIntegerField(_("invalid"), null=True, blank=True)
    rows_out_of_scope = models.PositiveIntegerField(
        _("outside the register"), null=True, blank=True
    )
    rows_left_out = models.PositiveIntegerField(
        _("repeated numbers left out"), null=True, blank=True
    )
    credits_charged = models.PositiveIntegerField(_("credits charged"), default=0)
    result = models.FileField(_("marked file"), max_length=200, blank=True)
    certificate = models.FileField(_("certificate"), max_length=200, blank=True)
    # What /verify/ checks a certificate by (SPEC §8.7): the short reference printed on it and
    # the SHA-256 of the signed PDF as it was issued; both set with the certificate.
    certificate_reference = models.CharField(_("certificate reference"), max_length=64, blank=True)
    certificate_sha256 = models.CharField(_("certificate SHA-256"), max_length=64, blank=True)
    # The register's state the marking used: every change before this moment is in the result.
    register_as_of = models.DateTimeField(_("register as of"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    # The job runs far from the request: its messages are written in the uploader's language.
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    files_deleted_at = models.DateTimeField(_("files deleted at"), null=True, blank=True)
    # The mail a week before the use period ends went out (campaigns.history.reminders).
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("call file")
        verbose_name_plural = _("call files")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The campaign's history of scrubs in the portal, newest first.
            models.Index(fields=["campaign", "-created_at"], name="call_file_campaign"),
            # The daily retention purge: finished files whose use period has ended.
            # A certificate checked on /verify/ by its PDF.
            models.Index(
                fields=["certificate_sha256"],
                condition=~Q(certificate_sha256=""),
                name="call_file_certificate_sha256",
            ),
            models.Index(
                fields=["valid_until"],
                condition=Q(files_deleted_at__isnull=True, valid_until__isnull=False),
                name="call_file_to_purge",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=CallFileStatus.DONE)
                | Q(
                    rows_total=models.F("rows_blocked")
                    + models.F("rows_callable")
                    + models.F("rows_invalid")
                    + models.F("rows_out_of_scope"),
                    valid_until__isnull=False,
                ),
                name="call_file_done_counts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="call_file_progress_is_a_percentage"
            ),
            models.UniqueConstraint(
                fields=["certificate_reference"],
                condition=~Q(certificate_reference=""),
                name="call_file_certificate_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.filename


class CheckTally(models.Model):
    """How many checks a company made on one day (the register's), and of how many numbers:
    what the staff dashboard sums per company over years, where NumberCheck (the evidence for
    violation reports) would mean counting every check. One row per company and day, added to by
    every check (`campaigns.checks.services.numbers_check`)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="+", verbose_name=_("company")
    )
    day = models.DateField(_("day"))
    checks = models.PositiveIntegerField(_("checks"), default=0)
    numbers = models.PositiveBigIntegerField(_("numbers checked"), default=0)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("checks of a day")
        verbose_name_plural = _("checks per day")
        constraints = [
            models.UniqueConstraint(fields=["company", "day"], name="check_tally_once_a_day"),
        ]
        indexes = [
            # The dashboard: a register's checks in a period.
            models.Index(fields=["register", "day"], name="check_tally_register_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.checks}"


class CallFileNumber(models.Model):
    """The keyed hash (register.numberhash) of one number a scrub offered, never the number: kept
    as long as the scrub's record and certificate, after the file is purged, so a violation
    report can ask whether the company checked that number (issue #14).

    Written by the marking job in one set-based statement. Keyed by (digest, call file): the
    key's index answers the one question asked, which scrubs offered this digest. No register
    key of its own: read only through the scrub (CallFile), whose scope it shares.

    No foreign key in the database: its check of each of a million rows a scrub writes, at
    commit, cost about as much as writing them. The rows are written only by the marking job,
    for the scrub it holds, and go with the scrub (Django's cascade).
    """

    pk = models.CompositePrimaryKey("digest", "call_file")
    digest = models.BigIntegerField()
    call_file = models.ForeignKey(
        CallFile, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.call_file_id}: {self.digest:x}"


class NumberCheck(models.Model):
    """A number check (SPEC §10) on record: who checked how many numbers, when, and until when
    the answer may be used (the register's use period, as a scrub's), for violation reports."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="number_checks", verbose_name=_("company")
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="number_checks",
        verbose_name=_("campaign"),
    )
    checked_at = models.DateTimeField(_("checked at"), auto_now_add=True)
    valid_until = models.DateField(_("valid until"))
    numbers = models.PositiveIntegerField(_("numbers checked"))

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("number check")
        verbose_name_plural = _("number checks")

    def __str__(self) -> str:
        return f"{self.company} {self.checked_at:%Y-%m-%d %H:%M}"


class NumberCheckNumber(models.Model):
    """The keyed hash of one number a check offered; see CallFileNumber."""

    pk = models.CompositePrimaryKey("digest", "number_check")
    digest = models.BigIntegerField()
    number_check = models.ForeignKey(
        NumberCheck, on_delete=models.CASCADE, db_index=False, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.number_check_id}: {self.digest:x}"
