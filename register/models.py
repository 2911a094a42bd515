"""The tenant (a national do-not-call register) and its register of blocked numbers."""

import datetime
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Lower, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from register.numberhash import new_number_key

# A registration that blocks every category, including ones a register adds later: all bits set.
ALL_CATEGORIES = -1


class LiberationDay(models.TextChoices):
    NEVER = "never", _("not a day off")
    LUSTRUM = "lustrum", _("a day off in lustrum years (2025, 2030, …)")
    YEARLY = "yearly", _("a day off every year")


def nl_short_calling_days() -> list[str]:
    """4 May, 5 December and 24 December: calls end early (seed 004, art. 9 CTM 2012)."""
    return ["05-04", "12-05", "12-24"]


def validate_month_day(value: str) -> None:
    try:
        # A leap year, so that 29 February is a date.
        datetime.datetime.strptime(f"2000-{value}", "%Y-%m-%d")
    except ValueError:
        raise ValidationError(
            _("%(value)s is not a date as MM-DD."), params={"value": value}
        ) from None


class Register(models.Model):
    """A national do-not-call register: the tenant every other row belongs to (SPEC §1, §3).

    A new register is a row, not code: its number plan follows from `country`, its texts and
    category labels live in `texts`, its rules are the fields below.
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100)
    operator = models.CharField(_("operator"), max_length=200)
    operator_address = models.TextField(_("operator address"), blank=True)
    support_email = models.EmailField(_("service desk e-mail"))
    country = models.CharField(
        _("country"),
        max_length=2,
        unique=True,
        help_text=_("ISO 3166 code of the number plan; one register per number plan."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64)
    categories = ArrayField(
        models.SlugField(max_length=30),
        blank=True,
        default=list,
        verbose_name=_("blocking categories"),
        help_text=_(
            "Ordered codes; empty means one full block. Only append: a category's position is "
            "its bit in stored registrations."
        ),
    )
    languages = ArrayField(
        models.CharField(max_length=8),
        verbose_name=_("languages"),
        help_text=_("Languages of the pages; the first is the default."),
    )
    texts = models.JSONField(
        _("texts"),
        default=dict,
        blank=True,
        help_text=_('Per language: {"nl": {"intro": …, "category.commercial": …}, "en": …}.'),
    )
    confirmation_hours = models.PositiveSmallIntegerField(
        _("confirmation link valid (hours)"), default=72
    )
    max_numbers_per_request = models.PositiveSmallIntegerField(
        _("numbers per block request"), default=10
    )
    use_period_days = models.PositiveSmallIntegerField(
        _("use period of a scrub or download (days)"), default=28
    )
    vat_rate = models.DecimalField(
        _("VAT rate (%)"), max_digits=4, decimal_places=2, default=Decimal("21.00")
    )
    # Working days for the terms of the complaints regulation (SPEC §14, register.calendar).
    # Dutch law lists Good Friday and 5 May as days off only for statutory terms (Algemene
    # termijnenwet); the regulation of seed 003 is the operator's own and counts the days its
    # service desk works, and most Dutch collective agreements give 5 May off only in lustrum
    # years and Good Friday not at all. Counting fewer days off never lets the operator miss a
    # term by a day a user would count, so nl uses that calendar; an operator following the
    # Atw calendar sets both.
    good_friday_off = models.BooleanField(
        _("Good Friday is a day off"),
        default=False,
        help_text=_("For the working days of complaint and dispute terms."),
    )
    liberation_day_off = models.CharField(
        _("5 May (Liberation Day)"),
        max_length=8,
        choices=LiberationDay.choices,
        default=LiberationDay.NEVER,
        help_text=_("For the working days of complaint and dispute terms."),
    )
    # Telemarketing calling hours (SPEC §15, register.calling), as wall-clock times in
    # `time_zone`; Sundays and public holidays never have any. The defaults are art. 9 CTM 2012
    # (seed 004). be has them too: no seed gives Belgian hours, and the Dutch ones are the
    # stricter guess until its operator sets its own.
    calling_weekday_from = models.TimeField(
        _("calls on working days from"), default=datetime.time(9)
    )
    calling_weekday_until = models.TimeField(
        _("calls on working days until"), default=datetime.time(22)
    )
    calling_saturday_from = models.TimeField(
        _("calls on Saturdays from"),
        null=True,
        blank=True,
        default=datetime.time(10),
        help_text=_("Leave both Saturday times empty for no calls on Saturdays."),
    )
    calling_saturday_until = models.TimeField(
        _("calls on Saturdays until"), null=True, blank=True, default=datetime.time(16)
    )
    calling_short_days = ArrayField(
        models.CharField(max_length=5, validators=[validate_month_day]),
        blank=True,
        default=nl_short_calling_days,
        verbose_name=_("days with shorter calling hours"),
        help_text=_(
            "Dates as MM-DD. On a working day calls end at the time below; on a Saturday the "
            "Saturday hours apply; on a Sunday or public holiday there are no calls."
        ),
    )
    calling_short_day_until = models.TimeField(
        _("calls on those days until"), default=datetime.time(18, 30)
    )
    # The secret of the register's number hashes (register.numberhash): never shown, never
    # changed, or every hash kept so far stops matching.
    number_key = models.BinaryField(default=new_number_key, editable=False)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="staffed_registers",
        verbose_name=_("staff"),
        help_text=_("Users who administer this register in the admin."),
    )

    class Meta:
        verbose_name = _("register")
        verbose_name_plural = _("registers")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(calling_weekday_from__lt=models.F("calling_weekday_until")),
                name="register_calling_weekday_window",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    calling_saturday_from__isnull=True, calling_saturday_until__isnull=True
                )
                | models.Q(calling_saturday_from__lt=models.F("calling_saturday_until")),
                name="register_calling_saturday_window",
            ),
            # A short day ends earlier than a working day, never later.
            models.CheckConstraint(
                condition=models.Q(calling_short_day_until__gt=models.F("calling_weekday_from"))
                & models.Q(calling_short_day_until__lte=models.F("calling_weekday_until")),
                name="register_calling_short_day_window",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """A register added in the admin is checked as data: a number plan phonenumbers knows,
        a real time zone, languages the project has catalogues for."""
        errors = {}
        self.country = (self.country or "").strip().upper()
        if not phonenumbers.country_code_for_region(self.country):
            errors["country"] = _("No telephone number plan is known for this country code.")
        try:
            ZoneInfo(self.time_zone)
        except (ValueError, ZoneInfoNotFoundError):
            errors["time_zone"] = _("Not a time zone, e.g. Europe/Amsterdam.")
        known = {code for code, _name in settings.LANGUAGES}
        unknown = [code for code in self.languages or [] if code not in known]
        if unknown or not self.languages:
            errors["languages"] = _("Languages are among: %(known)s.") % {
                "known": ", ".join(sorted(known))
            }
        if errors:
            raise ValidationError(errors)

    @property
    def hostnames(self) -> list[str]:
        """The host names this register answers on, the primary one (for links) first."""
        return [host.hostname for host in self.hosts.all()]

    @cached_property
    def calling_code(self) -> int:
        return phonenumbers.country_code_for_region(self.country)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def date_of(self, moment: datetime.datetime) -> datetime.date:
        """The calendar day `moment` falls on in the register's time zone: licence dates, terms
        and use periods are all counted in the register's own days."""
        return timezone.localtime(moment, self.zone).date()

    def today(self) -> datetime.date:
        return self.date_of(timezone.now())

    @property
    def has_categories(self) -> bool:
        return bool(self.categories)

    def text(self, key: str, language: str) -> str:
        """A register text in `language`, else in the register's default language, else ''."""
        for lang in (language, self.default_language):
            value = self.texts.get(lang, {}).get(key)
            if value:
                return value
        return ""

    def category_label(self, code: str, language: str) -> str:
        return self.text(f"category.{code}", language) or code

    def category_mask(self, codes) -> int:
        """The stored bitmask for a set of category codes; every code blocked is ALL_CATEGORIES."""
        codes = set(codes)
        unknown = codes - set(self.categories)
        if unknown:
            raise ValueError(f"unknown categories for {self.slug}: {sorted(unknown)}")
        if not self.categories or codes == set(self.categories):
            return ALL_CATEGORIES
        mask = 0
        for position, code in enumerate(self.categories):
            if code in codes:
                mask |= 1 << position
        return mask

    def category_codes(self, mask: int) -> list[str]:
        """The category codes a stored bitmask covers, in the register's order."""
        return [code for position, code in enumerate(self.categories) if mask & (1 << position)]


class RegisterHost(models.Model):
    """A host name a register answers on (SPEC §3): one register per host name, so a request's
    host never names two tenants.

    A table rather than an array on Register because PostgreSQL cannot make array elements
    unique across rows. Not scoped: the host is read to find the register, before any scope
    exists, and host names are public anyway. Stored in lower case without a trailing dot, as
    the middleware looks them up.
    """

    register = models.ForeignKey(
        Register, on_delete=models.CASCADE, related_name="hosts", verbose_name=_("register")
    )
    hostname = models.CharField(
        _("host name"),
        max_length=253,
        unique=True,
        help_text=_("Without port, e.g. bel-me-niet.nl."),
        error_messages={"unique": _("Another register answers on this host name already.")},
    )
    primary = models.BooleanField(
        _("primary"),
        default=False,
        help_text=_("Links in mails sent without a request (reminders, renewals) use this one."),
    )

    class Meta:
        verbose_name = _("host name")
        verbose_name_plural = _("host names")
        ordering = ["-primary", "hostname"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hostname=Lower("hostname")),
                name="register_host_lower_case",
            ),
            models.UniqueConstraint(
                fields=["register"],
                condition=models.Q(primary=True),
                name="register_host_one_primary",
                violation_error_message=_("A register has one primary host name."),
            ),
        ]

    def __str__(self) -> str:
        return self.hostname

    def clean(self):
        self.hostname = normalise_hostname(self.hostname)


def normalise_hostname(host: str) -> str:
    """`NL.Example.` and `nl.example` are one host: lower case, no trailing dot."""
    return host.strip().lower().rstrip(".")


class Channel(models.TextChoices):
    WEB = "web", _("website")
    PHONE = "phone", _("phone / IVR")
    COMPANY = "company", _("company upload")
    IMPORT = "import", _("admin import")
    ADMIN = "admin", _("service desk")


class RegisterImport(models.Model):
    """One admin import of a register file (SPEC §5), and the block event of every number it loaded.

    An import of millions of numbers writes no RegisterEvent per number: writing ten million
    history rows and their number index cost as much as loading the register itself. Each
    BlockedNumber it loaded points here instead (`imported_in`) and stands, with this row, for
    its block event: action block, channel import, the number's categories, at `occurred_at`.
    The moment such a number is next changed or unblocked, that event is written to
    RegisterEvent first (`register.services.imported_blocks_materialise`), so every number's
    history stays complete and in order; readers of the history (delta downloads, the admin)
    read both.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    occurred_at = models.DateTimeField(_("occurred at"), db_default=Now())
    imported_by = models.CharField(_("imported by"), max_length=150, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    loaded = models.PositiveIntegerField(_("numbers loaded"), default=0)
    skipped = models.PositiveIntegerField(_("lines skipped"), default=0)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("register import")
        verbose_name_plural = _("register imports")

    def __str__(self) -> str:
        return f"{self.file_name or self.sha256[:12]} {self.occurred_at:%Y-%m-%d %H:%M}"


class BlockedNumber(models.Model):
    """The current state of one blocked number; the history is RegisterEvent (SPEC §5).

    Keyed by the E.164 digits as bigint. A number belongs to exactly one register because a
    register owns a whole number plan (Register.country is unique), so the number alone is the key.
    """

    number = models.BigIntegerField(_("number"), primary_key=True)
    # No index of its own: every number's country code already tells its register, and the
    # bulk paths (import, export, scrub) filter by number ranges or join on the primary key.
    # No database constraint either: PostgreSQL checks a foreign key with a trigger per row, at
    # commit, which for an import of ten million numbers took longer than loading them. A
    # register is never deleted (PROTECT here; its admin offers no delete) and every writer
    # takes the register from its own row, so the check would never find anything.
    register = models.ForeignKey(
        Register,
        on_delete=models.PROTECT,
        db_index=False,
        db_constraint=False,
        verbose_name=_("register"),
    )
    categories = models.SmallIntegerField(_("categories"), default=ALL_CATEGORIES)
    registered_on = models.DateField(_("registered on"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # Only to manage a web registration (SPEC §5 privacy): never in downloads or results.
    email = models.EmailField(_("e-mail"), blank=True, db_default="")
    updated_at = models.DateTimeField(_("updated at"), db_default=Now())
    # Set while the number's block event is its import's (see RegisterImport); cleared when
    # that event is written to RegisterEvent. No database constraint, for the reason on
    # `register`: imports are never deleted either. No index: even a BRIN index, updated per
    # row, made the import's load a quarter slower; the one reader, a delta download since an
    # import, scans the register once (a second for ten million numbers).
    imported_in = models.ForeignKey(
        RegisterImport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
        related_name="+",
        verbose_name=_("imported in"),
    )

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("blocked number")
        verbose_name_plural = _("blocked numbers")
        # The operator's IVR registers callers through the API with a staff key (SPEC §5).
        permissions = [("register_by_ivr", _("Can register numbers through the IVR API"))]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(categories=0), name="blocked_number_blocks_something"
            ),
        ]

    def __str__(self) -> str:
        from register.phone import format_international

        return format_international(self.number)

    @property
    def category_codes(self) -> list[str]:
        return self.register.category_codes(self.categories)


class EventAction(models.TextChoices):
    BLOCK = "block", _("blocked")
    CHANGE = "change", _("categories changed")
    UNBLOCK = "unblock", _("unblocked")


class RegisterEvent(models.Model):
    """One change to the register, append-only: the source of delta downloads and proof."""

    # No database constraint, for the reason given on BlockedNumber.register.
    register = models.ForeignKey(
        Register,
        on_delete=models.PROTECT,
        db_index=False,
        db_constraint=False,
        verbose_name=_("register"),
    )
    number = models.BigIntegerField(_("number"))
    action = models.CharField(_("action"), max_length=10, choices=EventAction.choices)
    categories = models.SmallIntegerField(_("categories"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    occurred_at = models.DateTimeField(_("occurred at"), db_default=Now())
    # What wrote the event where one act writes many, e.g. "registration-file:42", so that act
    # can be reverted (`register.services.register_writes_revert`); its revert's own events
    # say "registration-file:42:revert". Empty for a consumer's or the service desk's own act.
    reference = models.CharField(_("reference"), max_length=100, blank=True, db_default="")

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("register event")
        verbose_name_plural = _("register events")
        indexes = [
            # Delta downloads: the changes of one register since a moment. Events are appended
            # in time order, so a BRIN index finds the pages since the moment for a fraction of
            # a B-tree's cost on every insert (an import writes millions); the few registers'
            # events on those pages are filtered by register.
            BrinIndex(fields=["occurred_at"], name="event_time"),
            # Proof and the admin: the history of one number.
            models.Index(fields=["number"], name="event_number"),
            # Reverting a registration file: the events it wrote. Partial: most events (the
            # consumers' own) have no reference and stay out of the index.
            models.Index(
                fields=["reference"], condition=~models.Q(reference=""), name="event_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.action} {self.occurred_at:%Y-%m-%d %H:%M}"


class BlockRequest(models.Model):
    """A consumer's block, waiting for the confirmation link mailed to them (SPEC §5).

    Only a hash of the link's token is stored, so a database dump cannot confirm blocks.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("e-mail"))
    # Both erased once the link is used (config.retention): the register keeps the numbers.
    numbers = ArrayField(models.BigIntegerField(), verbose_name=_("numbers"))
    # The numbers' keyed hashes (register.numberhash), set at confirmation and kept: reverting a
    # company's registration file must still see that a consumer confirmed a number himself.
    number_hashes = ArrayField(models.BigIntegerField(), default=list, blank=True, editable=False)
    categories = models.SmallIntegerField(_("categories"))
    language = models.CharField(max_length=8)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("block request")
        verbose_name_plural = _("block requests")
        indexes = [
            # The hourly purge of unconfirmed requests past their expiry.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(confirmed_at__isnull=True),
                name="block_request_unconfirmed",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(categories=0), name="block_request_blocks_something"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({len(self.numbers)})"


class ManageLink(models.Model):
    """A mailed link to change or unblock every web registration of one e-mail address (SPEC
    §5). It serves one visit: valid for the register's `confirmation_hours` from mailing, and
    once it has made a change, for `VISIT` more at most, so the consumer can make several
    changes but a link found later in a mailbox does little.

    Only a hash of the link's token is stored, so a database dump cannot manage registrations.
    """

    VISIT = datetime.timedelta(hours=1)

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("e-mail"))
    language = models.CharField(max_length=8)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    first_used_at = models.DateTimeField(_("first change at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("manage link")
        verbose_name_plural = _("manage links")

    def __str__(self) -> str:
        return f"{self.email} {self.created_at:%Y-%m-%d %H:%M}"

    def ends_at(self) -> datetime.datetime:
        if self.first_used_at is None:
            return self.expires_at
        return min(self.expires_at, self.first_used_at + self.VISIT)


class ActionLog(models.Model):
    """One staff or money action: who did what to which object, when, with what data (SPEC
    §17, STYLE 15). Written by the services in the action's own transaction, so an action that
    rolls back leaves no entry; append-only: a database trigger refuses UPDATE and DELETE.

    The actor is kept as a label too: the log must still say who acted after the account is
    gone, and the user key has no database constraint so no deletion can reach the log.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    at = models.DateTimeField(_("at"), db_default=Now(), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_label = models.CharField(_("by"), max_length=254)
    action = models.CharField(_("action"), max_length=64)
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, null=True, blank=True
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # What ActionLogInline needs to show an object's log on its admin page; no column of its own.
    target = GenericForeignKey("content_type", "object_id")

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("logged action")
        verbose_name_plural = _("action log")
        ordering = ["-at", "-pk"]
        indexes = [
            # An object's log in its admin page.
            models.Index(fields=["content_type", "object_id"], name="action_log_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class OutgoingMail(models.Model):
    """A mail written in the transaction of the act that caused it and handed to the mail server
    after the commit (a transactional outbox): a mail server that is down, slow or refusing
    loses no mail and fails no request; the reaper hands it over again later. The row is
    deleted once the server took it, so addresses are kept no longer than the delivery."""

    register = models.ForeignKey(Register, on_delete=models.CASCADE, verbose_name=_("register"))
    sender = models.CharField(_("from"), max_length=320)
    to = models.EmailField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=998)
    body = models.TextField(_("text"))
    html_body = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created at"), db_default=Now())
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_default=Now())
    last_error = models.TextField(_("last error"), blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outgoing mail")
        indexes = [models.Index(fields=["register", "next_attempt_at"], name="mail_due")]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class DailyCount(models.Model):
    """How many numbers were registered or unblocked on one day (in the register's time zone),
    by channel and categories: the rollup the statistics read (`register.statistics`), so that
    a dashboard over years of a history of tens of millions of events sums a few thousand rows.

    Written only by `daily_counts_roll_up`, for whole days once they are over; the days since
    are counted from the history when read. A registration counts with the categories it
    blocked, an unblock with those the number had until then. An import's numbers count as
    registrations on the day of the import (RegisterImport holds their block events).
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    day = models.DateField(_("day"))
    action = models.CharField(_("action"), max_length=10, choices=EventAction.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    categories = models.SmallIntegerField(_("categories"))
    count = models.PositiveIntegerField(_("count"))

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        constraints = [
            # Also the index of every statistics query: one register's days in a period.
            models.UniqueConstraint(
                fields=["register", "day", "action", "channel", "categories"],
                name="daily_count_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.action} {self.channel}: {self.count}"


class DailyCountsThrough(models.Model):
    """The last day of a register whose counts are in DailyCount: every day up to it is, no day
    after it is. One row per register, moved forward by `daily_counts_roll_up`."""

    register = models.OneToOneField(
        Register, on_delete=models.PROTECT, primary_key=True, verbose_name=_("register")
    )
    day = models.DateField(_("day"))

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("daily counts through")
        verbose_name_plural = _("daily counts through")

    def __str__(self) -> str:
        return f"{self.register_id}: {self.day}"


class StaffApiKey(models.Model):
    """A key with which a system of the operator (its IVR) calls the API as a staff user of one
    register (SPEC §5). Shown once, stored as a SHA-256 hash, revocable, like a company's key;
    what it may do is what its user's role allows (`register.roles.IVR`), checked on every call,
    so taking the user out of the role or the register's staff stops the key at once."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_api_keys",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, help_text=_("Shown to tell keys apart."))
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("staff API key")
        verbose_name_plural = _("staff API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
