"""Requests, complaints and disputes of the complaints regulation (SPEC §14, seed 003).

A case moves through its stages only by the services (`complaints.services`), each step leaving
an append-only `CaseEvent`. The due dates are computed by `complaints.deadlines` and stored on
the case so that the admin and the reminders can query them.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from licences.models import Company
from register.models import Register
from register.phone.modelfields import ContactPhoneNumberField


class CaseKind(models.TextChoices):
    REQUEST = "request", _("request")
    COMPLAINT = "complaint", _("complaint")
    DISPUTE = "dispute", _("dispute")
    # A consumer called despite the registration (issue #14): to the service desk, as a request.
    REPORT = "report", _("violation report")


class CaseChannel(models.TextChoices):
    PORTAL = "portal", _("company portal")
    API = "api", _("API")
    PUBLIC = "public", _("public form")
    POST = "post", _("post")
    EMAIL = "email", _("e-mail")


class Stage(models.TextChoices):
    RECEIVED = "received", _("received")
    FORWARDED = "forwarded", _("with the board")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    DIRECTOR_INFORMED = "director_informed", _("director informed")
    POSITION_RECEIVED = "position_received", _("director's position received")
    HEARING_SCHEDULED = "hearing_scheduled", _("hearing scheduled")
    POSITION_SENT = "position_sent", _("position sent to the user")
    REACTION_RECEIVED = "reaction_received", _("user's reaction received")
    DECIDED = "decided", _("decided")
    INADMISSIBLE = "inadmissible", _("inadmissible")
    CLOSED = "closed", _("closed")


OPEN_STAGES = [stage for stage in Stage.values if stage != Stage.CLOSED]


class Admissibility(models.TextChoices):
    TIMELY = "timely", _("filed in time")
    LATE = "late", _("filed late")
    EXCUSED = "excused", _("filed late, excused")
    UNCHECKED = "unchecked", _("not checked: no earlier case on record")


class Case(models.Model):
    """One request, complaint or dispute; a complaint refers to its request, a dispute to its
    complaint (seed 003 arts 2–5).

    `received_at` is the real moment of receipt: the filing for the portal, API and public form,
    the date on the post or e-mail when staff record it. Every term runs from it.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    kind = models.CharField(_("kind"), max_length=10, choices=CaseKind.choices)
    refers_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("refers to"),
    )
    company = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("company"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("filed by user"),
    )
    filer_name = models.CharField(_("filer's name"), max_length=200, blank=True)
    filer_email = models.EmailField(_("filer's e-mail"))
    filer_phone = ContactPhoneNumberField(
        _("filer's telephone"), help_text=_("Optional: the service desk may call back on it.")
    )
    language = models.CharField(_("language of the letters"), max_length=8)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    channel = models.CharField(_("channel"), max_length=10, choices=CaseChannel.choices)
    received_at = models.DateTimeField(_("received at"))
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.RECEIVED
    )

    admissibility = models.CharField(
        _("admissibility"), max_length=10, choices=Admissibility.choices
    )
    file_by = models.DateField(_("last day to file"), null=True, blank=True)
    late_reason = models.TextField(
        _("filer's reason for filing late"),
        blank=True,
        help_text=_("Why filing in time could not reasonably be expected (arts 4.2, 5.4)."),
    )
    excuse_reason = models.TextField(_("why the late filing was admitted"), blank=True)

    # Due dates (complaints.deadlines), stored for the admin list, filters and reminders.
    handle_by = models.DateField(_("handle by"), null=True, blank=True)
    acknowledge_by = models.DateField(_("acknowledge by"), null=True, blank=True)
    decide_by = models.DateField(_("decide by"), null=True, blank=True)
    position_by = models.DateField(_("director's position by"), null=True, blank=True)
    reaction_by = models.DateField(_("user's reaction by"), null=True, blank=True)
    next_due = models.DateField(_("next deadline"), null=True, blank=True)
    next_due_term = models.CharField(_("next deadline's term"), max_length=20, blank=True)

    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision = models.TextField(_("decision"), blank=True)
    position = models.TextField(_("director's position"), blank=True)
    hearing_place = models.CharField(_("hearing place"), max_length=200, blank=True)
    hearing_at = models.DateTimeField(_("hearing at"), null=True, blank=True)

    # The staff member handling the case: one of the register's staff (services.case_assign).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )

    # Only a hash of the consumer's follow link: a database dump cannot open cases.
    public_token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-received_at"]
        indexes = [
            # The admin's overdue and due-this-week filters and the daily reminders.
            models.Index(
                fields=["register", "next_due"],
                condition=models.Q(next_due__isnull=False),
                name="case_next_due",
            ),
            # The company portal and API: a company's cases, newest first.
            models.Index(
                fields=["company", "-received_at"],
                condition=models.Q(company__isnull=False),
                name="case_company",
            ),
            # The consumer's follow link.
            models.Index(
                fields=["public_token_hash"],
                condition=~models.Q(public_token_hash=""),
                name="case_public_token",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}: {self.subject}"


class EventAction(models.TextChoices):
    FILED = "filed", _("filed")
    RECORDED = "recorded", _("recorded from post or e-mail")
    ATTACHED = "attached", _("attachment added")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    DECIDED = "decided", _("decided")
    DECLARED_INADMISSIBLE = "inadmissible", _("declared inadmissible")
    LATENESS_EXCUSED = "lateness_excused", _("late filing admitted")
    FORWARDED = "forwarded", _("forwarded to the board")
    DIRECTOR_INFORMED = "director_informed", _("director informed")
    POSITION_DEADLINE_SET = "position_deadline", _("director's position deadline set")
    POSITION_RECORDED = "position_recorded", _("director's position recorded")
    HEARING_SCHEDULED = "hearing_scheduled", _("hearing scheduled")
    POSITION_SENT = "position_sent", _("position sent to the user")
    REACTION_RECORDED = "reaction_recorded", _("user's reaction recorded")
    BOARD_DECIDED = "board_decided", _("board decided")
    CLOSED = "closed", _("closed")
    LETTER_SENT = "letter_sent", _("letter sent")
    ASSIGNED = "assigned", _("assigned")
    NOTE = "note", _("internal note")


# The desk's own work on a case: never shown to the filer (selectors.case_timeline).
INTERNAL_ACTIONS = frozenset({EventAction.ASSIGNED, EventAction.NOTE})


class CaseEvent(models.Model):
    """One step on a case's timeline: who did what, when, with what text. Append-only (the
    database refuses updates and deletes: migration 0002)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="events", verbose_name=_("case")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=20, choices=EventAction.choices)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"


def attachment_path(instance, filename: str) -> str:
    # An unguessable name: attachments are only ever served through an access check, as a
    # download; the filer's own file name is kept in `name`.
    return f"cases/{instance.register.slug}/{secrets.token_urlsafe(24)}"


class CaseAttachment(models.Model):
    """A document sent with a case, by the filer or recorded by staff (seed 003 arts 3.1, 5.1)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("case")
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.name


class LetterKind(models.TextChoices):
    ANSWER = "answer", _("answer to a request")
    ACKNOWLEDGEMENT = "acknowledgement", _("acknowledgement")
    DECISION = "decision", _("director's decision")
    INADMISSIBLE = "inadmissible", _("declaration of inadmissibility")
    HEARING = "hearing", _("invitation to a hearing")
    POSITION = "position", _("director's position for reaction")
    BOARD_DECISION = "board_decision", _("board's decision")


def letter_path(instance, filename: str) -> str:
    return f"letters/{instance.register.slug}/{secrets.token_urlsafe(24)}.pdf"


class Letter(models.Model):
    """A letter to the filer: the text as written at the step, mailed with its PDF once.

    The text is kept as sent, so the case shows what the user received.
    """

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="letters", verbose_name=_("case")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=LetterKind.choices)
    language = models.CharField(_("language"), max_length=8)
    recipient = models.EmailField(_("recipient"))
    subject = models.CharField(_("subject"), max_length=250)
    body = models.TextField(_("text"))
    pdf = models.FileField(_("PDF"), upload_to=letter_path, blank=True, max_length=200)
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.subject


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", _("due in 2 working days")
    OVERDUE = "overdue", _("overdue")


class DeadlineReminder(models.Model):
    """A reminder mailed to staff about one deadline of one case; the unique key makes it once
    each (SPEC §13)."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("case")
    )
    term = models.CharField(_("term"), max_length=20)
    kind = models.CharField(_("kind"), max_length=10, choices=ReminderKind.choices)
    due_on = models.DateField(_("due on"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("deadline reminder")
        verbose_name_plural = _("deadline reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "term", "kind"], name="one_reminder_per_case_term_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.term} {self.kind}"


class ReplyStep(models.TextChoices):
    """The steps whose text goes to the filer in a letter."""

    DECIDE = "decide", _("Decide (the answer or the director's decision)")
    DECLARE_INADMISSIBLE = "declare_inadmissible", _("Declare inadmissible")
    BOARD_DECIDE = "board_decide", _("Board decides")


class ReplyTemplate(models.Model):
    """A text staff start from when a step writes to the filer (a decision's motivation, a
    reason of inadmissibility), per step and language; the register's own data, edited in the
    admin. Defaults for nl, en and fr come from migration 0003."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    step = models.CharField(_("step"), max_length=30, choices=ReplyStep.choices)
    kind = models.CharField(
        _("for cases of kind"),
        max_length=10,
        choices=CaseKind.choices,
        blank=True,
        help_text=_("Empty: offered for every kind of case the step is taken on."),
    )
    language = models.CharField(_("language"), max_length=8)
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"))

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["step", "language", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["register", "step", "language", "title"],
                name="one_reply_template_per_title",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class ViolationReport(models.Model):
    """What a consumer reports of a call received despite the registration (issue #14), filed
    as a case of kind `report`. `company_named` is the name as the consumer heard it; staff
    set `company` to the company of the register it means (matched at filing when one company
    bears exactly that name), and the evidence is looked up for that company."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, verbose_name=_("register"))
    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, related_name="violation_report", verbose_name=_("case")
    )
    # E.164 digits, normalised; erased with the case's other personal data is a later concern.
    number = models.BigIntegerField(_("number called"))
    called_at = models.DateTimeField(_("called at"))
    caller_name = models.CharField(_("caller's name"), max_length=200, blank=True)
    caller_number = models.CharField(_("caller's number"), max_length=40, blank=True)
    company_named = models.CharField(_("company named"), max_length=200)
    company = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="violation_reports",
        verbose_name=_("company"),
        help_text=_("The company of the register the report is about."),
    )
    offered = models.TextField(_("what was offered"), blank=True)

    objects = ScopedManager(register="register")

    class Meta:
        verbose_name = _("violation report")
        verbose_name_plural = _("violation reports")
        ordering = ["-called_at"]
        indexes = [
            # The reports against one company, and the regulator's export by period.
            models.Index(fields=["company", "-called_at"], name="violation_report_company"),
            models.Index(fields=["register", "called_at"], name="violation_report_period"),
        ]

    def __str__(self) -> str:
        return f"{self.company_named} ({self.case_id})"
