"""The case workflow in the staff admin (SPEC §14).

A list by stage with the next deadline and an overdue flag; the case page with its timeline,
attachments and letters, and a button for each step allowed now. Steps go through the services
only, each also written to the admin log. The admin site is already scoped to the host's
register (`register.admin_site`), so staff never reach another register's cases.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from complaints import admin_forms, services
from complaints.deadlines import term_for
from complaints.models import (
    Case,
    CaseAttachment,
    Letter,
    ReplyStep,
    ReplyTemplate,
    ViolationReport,
)
from licences.models import Company
from register.audit_admin import ActionLogInline
from register.errors import DomainError
from register.phone import format_international

# step name -> (form, service); the services check that the step is allowed now.
STEP_VIEWS = {
    "acknowledge": (admin_forms.ConfirmForm, services.case_acknowledge),
    "decide": (admin_forms.MotivationForm, services.case_decide),
    "declare_inadmissible": (admin_forms.ReasonForm, services.case_declare_inadmissible),
    "excuse_lateness": (admin_forms.ReasonForm, services.case_excuse_lateness),
    "forward_to_board": (admin_forms.ConfirmForm, services.case_forward_to_board),
    "inform_director": (admin_forms.ConfirmForm, services.case_inform_director),
    "set_position_deadline": (
        admin_forms.PositionDeadlineForm,
        services.case_set_position_deadline,
    ),
    "record_position": (admin_forms.PositionForm, services.case_record_position),
    "schedule_hearing": (admin_forms.HearingForm, services.case_schedule_hearing),
    "send_position": (admin_forms.ConfirmForm, services.case_send_position_to_user),
    "record_reaction": (admin_forms.ReactionForm, services.case_record_reaction),
    "board_decide": (admin_forms.MotivationForm, services.case_board_decide),
    "close": (admin_forms.ConfirmForm, services.case_close),
}
STEP_HELP = {
    "acknowledge": _("The user gets a letter confirming receipt (arts 3.2, 5.2)."),
    "decide": _("The user gets the decision with its motivation (arts 2.1, 4.1)."),
    "declare_inadmissible": _("The user gets the declaration with its reason (arts 4.2, 5.4)."),
    "excuse_lateness": _(
        "Admit a late complaint or dispute because filing in time could not reasonably be "
        "expected (arts 4.2, 5.4). The reason is kept on the timeline."
    ),
    "inform_director": _("The director gets 2 weeks to state a position (art. 5.5)."),
    "schedule_hearing": _("Both parties are heard; the user gets place, date and time (art. 5.6)."),
    "send_position": _("The user gets the director's position and 2 weeks to react (art. 5.7)."),
    "board_decide": _("The user gets the board's decision with its motivation (art. 5.8)."),
}
# The desk's own work, beside the workflow's steps: step name -> (form, service).
ATTACH, ASSIGN, NOTE = "attach", "assign", "note"
DESK_VIEWS = {
    ATTACH: (admin_forms.AttachForm, services.case_attach),
    ASSIGN: (admin_forms.AssignForm, services.case_assign),
    NOTE: (admin_forms.NoteForm, services.case_note_add),
}


class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("overdue")), ("week", _("due this week"))]

    def queryset(self, request, queryset):
        today = request.register.today()
        if self.value() == "overdue":
            return queryset.filter(next_due__lt=today)
        if self.value() == "week":
            sunday = today + datetime.timedelta(days=6 - today.weekday())
            return queryset.filter(next_due__gte=today, next_due__lte=sunday)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        return [("mine", _("mine")), ("nobody", _("nobody"))]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assignee=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseAttachmentInline(ReadOnlyInline):
    model = CaseAttachment
    fields = ["download", "size", "uploaded_by", "at"]
    readonly_fields = fields

    @admin.display(description=_("file"))
    def download(self, obj):
        url = reverse("admin:complaints_case_attachment", args=[obj.case_id, obj.pk])
        return format_html('<a href="{}" download>{}</a>', url, obj.name)


class LetterInline(ReadOnlyInline):
    model = Letter
    fields = ["kind", "subject", "recipient", "created_at", "sent_at", "pdf_link"]
    readonly_fields = fields

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        if not obj.pdf:
            return _("being made")
        url = reverse("admin:complaints_case_letter", args=[obj.case_id, obj.pk])
        return format_html('<a href="{}" download>{}</a>', url, _("PDF"))


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = [
        "number", "kind", "subject", "filer", "stage", "received_on", "deadline", "handled_by",
    ]  # fmt: skip
    list_filter = [AssigneeFilter, DeadlineFilter, "kind", "stage", "channel", "admissibility"]
    search_fields = ["subject", "filer_name", "filer_email", "company__name", "body"]
    search_help_text = _("Search by case number, subject, filer or company.")
    list_select_related = ["register", "company", "assignee"]
    ordering = ["-received_at"]
    inlines = [CaseAttachmentInline, LetterInline, ActionLogInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "kind",
                    "stage",
                    "handled_by",
                    "refers_to_link",
                    "subject",
                    "body",
                    "channel",
                    "received_at",
                    "language",
                ]
            },
        ),
        (
            _("Filer"),
            {"fields": ["filer_name", "filer_email", "filer_phone", "company", "user"]},
        ),
        (
            _("Admissibility"),
            {"fields": ["admissibility", "file_by", "late_reason", "excuse_reason"]},
        ),
        (
            _("Deadlines"),
            {
                "fields": [
                    "deadline",
                    "handle_by",
                    "acknowledge_by",
                    "decide_by",
                    "position_by",
                    "reaction_by",
                ]
            },
        ),
        (
            _("Outcome"),
            {"fields": ["decided_at", "decision", "position", "hearing_place", "hearing_at"]},
        ),
        (_("Timeline"), {"fields": ["timeline"]}),
    ]
    readonly_fields = [field for _label, options in fieldsets for field in options["fields"]]

    def has_delete_permission(self, request, obj=None):
        return False

    # The list

    @admin.display(description=_("number"), ordering="pk")
    def number(self, obj):
        return obj.pk

    @admin.display(description=_("filer"), ordering="filer_name")
    def filer(self, obj):
        who = obj.filer_name or obj.filer_email
        return f"{who} ({obj.company.name})" if obj.company else who

    @admin.display(description=_("received"), ordering="received_at")
    def received_on(self, obj):
        return date_format(obj.register.date_of(obj.received_at))

    @admin.display(description=_("next deadline"), ordering="next_due")
    def deadline(self, obj):
        if obj.next_due is None:
            return "—"
        term = term_for(obj.kind, obj.next_due_term)
        label = f"{date_format(obj.next_due)}: {term.label} (art. {term.article})"
        if obj.next_due < obj.register.today():
            return format_html(
                '<strong style="color: #ba2121">{} — {}</strong>', label, _("OVERDUE")
            )
        return label

    # A name, not Django's link to the user's page: users are for superusers only.
    @admin.display(description=_("assignee"), ordering="assignee__email")
    def handled_by(self, obj):
        if obj.assignee is None:
            return "—"
        return obj.assignee.get_full_name() or obj.assignee.email

    @admin.display(description=_("timeline"))
    def timeline(self, obj):
        entries = services.timeline_entries(case=obj)
        items = format_html_join(
            "",
            '<li><time datetime="{}">{}</time> {}{}</li>',
            (
                (
                    entry.at.isoformat(),
                    date_format(entry.at.astimezone(obj.register.zone), "DATETIME_FORMAT"),
                    entry.sentence,
                    format_html('<blockquote class="timeline-text">{}</blockquote>', entry.text)
                    if entry.text
                    else "",
                )
                for entry in entries
            ),
        )
        return format_html('<ol class="case-timeline">{}</ol>', items)

    @admin.display(description=_("refers to"))
    def refers_to_link(self, obj):
        if obj.refers_to_id is None:
            return "—"
        url = reverse("admin:complaints_case_change", args=[obj.refers_to_id])
        return format_html('<a href="{}">{}</a>', url, obj.refers_to)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip().isdigit():
            results |= queryset.filter(pk=int(search_term.strip()))
        return results, may_have_duplicates

    # The case page and its steps

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:case_id>/step/<str:step>/",
                view(self.step_view),
                name="complaints_case_step",
            ),
            path(
                "<int:case_id>/attachment/<int:attachment_id>/",
                view(self.attachment_view),
                name="complaints_case_attachment",
            ),
            path(
                "<int:case_id>/letter/<int:letter_id>/",
                view(self.letter_view),
                name="complaints_case_letter",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if case is not None and self.has_change_permission(request, case):
            steps = [*services.case_steps(case=case), *DESK_VIEWS]
            extra_context["case_steps"] = [
                (reverse("admin:complaints_case_step", args=[case.pk, name]), _step_label(name))
                for name in steps
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def _case_or_none(self, request, case_id):
        return self.get_object(request, str(case_id))

    def step_view(self, request, case_id, step):
        case = self._case_or_none(request, case_id)
        if case is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(case_id))
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        if step in DESK_VIEWS:
            form_class, service = DESK_VIEWS[step]
        elif step in STEP_VIEWS:
            form_class, service = STEP_VIEWS[step]
        else:
            raise Http404
        templates = (
            services.reply_templates_for(case=case, step=step) if step in ReplyStep.values else []
        )
        form = form_class(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            register=request.register,
            initial=_reply_initial(form_class, templates, request.GET.get("template")),
        )
        if request.method == "POST" and form.is_valid():
            try:
                service(case=case, by=request.user, **form.service_kwargs())
            except DomainError as error:
                form.add_error(None, str(error.message))
            else:
                # The admin log is the staff audit trail beside the case's own timeline.
                self.log_change(request, case, str(_step_label(step)))
                self.message_user(
                    request,
                    _("%(step)s: done.") % {"step": _step_label(step)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:complaints_case_change", args=[case.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "case": case,
            "form": form,
            "title": f"{_step_label(step)} — {case}",
            "step_help": STEP_HELP.get(step, ""),
            "reply_templates": templates,
            "chosen_template": request.GET.get("template", ""),
            "change_url": reverse("admin:complaints_case_change", args=[case.pk]),
        }
        return TemplateResponse(request, "admin/complaints/case/step.html", context)

    def attachment_view(self, request, case_id, attachment_id):
        case = self._case_or_none(request, case_id)
        if case is None or not self.has_view_permission(request, case):
            raise Http404
        attachment = case.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise Http404
        # Never inline: the filer's file is downloaded, not rendered in the admin's origin.
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.name,
            content_type="application/octet-stream",
        )

    def letter_view(self, request, case_id, letter_id):
        case = self._case_or_none(request, case_id)
        if case is None or not self.has_view_permission(request, case):
            raise Http404
        letter = case.letters.filter(pk=letter_id).first()
        if letter is None or not letter.pdf:
            raise Http404
        return FileResponse(
            letter.pdf.open("rb"),
            as_attachment=True,
            filename=f"letter-{case.pk}-{letter.pk}.pdf",
            content_type="application/pdf",
        )

    # Recording a case received by post or e-mail

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = admin_forms.CaseRecordForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            register=request.register,
            initial={"language": request.register.default_language},
        )
        if request.method == "POST" and form.is_valid():
            try:
                case = services.case_file(
                    register=request.register, recorded_by=request.user, **form.service_kwargs()
                )
            except DomainError as error:
                form.add_error(None, str(error.message))
            else:
                self.log_addition(request, case, str(_("Recorded from post or e-mail")))
                self.message_user(request, _("The case is recorded."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:complaints_case_change", args=[case.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": _("Record a case received by post or e-mail"),
            "change_url": reverse("admin:complaints_case_changelist"),
        }
        return TemplateResponse(request, "admin/complaints/case/step.html", context)


def _reply_initial(form_class, templates, chosen: str | None) -> dict:
    """The chosen template's text in the step's text field (the template's id in the query)."""
    template = next((t for t in templates if str(t.pk) == chosen), None)
    if template is None or not form_class.reply_field:
        return {}
    return {form_class.reply_field: template.text}


DESK_LABELS = {
    ATTACH: _("Add documents"),
    ASSIGN: _("Assign"),
    NOTE: _("Add an internal note"),
}


def _step_label(name: str):
    if name in DESK_LABELS:
        return DESK_LABELS[name]
    return services.STEPS[name].label


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    """The register's reply templates: staff write and edit them; a step's page offers those of
    its step, the case's language first."""

    list_display = ["title", "step", "kind", "language"]
    list_filter = ["step", "kind", "language"]
    search_fields = ["title", "text"]
    fields = ["step", "kind", "language", "title", "text"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        register = request.register

        class ReplyTemplateForm(base):
            def clean(self):
                # The register is no field of the form, so the model's unique check skips it.
                data = super().clean()
                same = ReplyTemplate.objects.filter(
                    register=register,
                    step=data.get("step"),
                    language=data.get("language"),
                    title=data.get("title"),
                ).exclude(pk=self.instance.pk)
                if same.exists():
                    raise forms.ValidationError(
                        _("This step already has a template with this title in this language.")
                    )
                return data

        ReplyTemplateForm.base_fields["language"] = forms.ChoiceField(
            label=_("Language"), choices=[(code, code) for code in register.languages]
        )
        return ReplyTemplateForm

    def save_model(self, request, obj, form, change):
        if not change:
            obj.register = request.register
        super().save_model(request, obj, form, change)


class ReportPeriodForm(forms.Form):
    start = forms.DateField(label=_("Calls from"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label=_("up to and including"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return cleaned


@admin.register(ViolationReport)
class ViolationReportAdmin(admin.ModelAdmin):
    """Violation reports, their own list (issue #14): per report the company it is about and the
    evidence whether it checked the number; per period the regulator's export. The case's steps
    (answer, close) are taken on its case page."""

    list_display = [
        "called_at",
        "international_number",
        "company_named",
        "company",
        "evidence_found",
        "case_link",
    ]
    list_filter = [("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["company_named", "company__name"]
    fields = [
        "case_link",
        "international_number",
        "called_at",
        "caller_name",
        "caller_number",
        "company_named",
        "offered",
        "company",
        "evidence",
        "reports_against_company",
    ]
    readonly_fields = [
        "case_link",
        "international_number",
        "called_at",
        "caller_name",
        "caller_number",
        "company_named",
        "offered",
        "evidence",
        "reports_against_company",
    ]
    change_list_template = "admin/complaints/violationreport/change_list.html"

    def has_add_permission(self, request):
        # Filed by the consumer on the public page, with the details only the consumer knows.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "company", "register")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "company":
            kwargs["queryset"] = Company.objects.filter(register=request.register).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        services.report_company_set(report=obj, company=obj.company, actor=request.user)

    @admin.display(description=_("number called"), ordering="number")
    def international_number(self, obj):
        return format_international(obj.number)

    @admin.display(description=_("case"))
    def case_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:complaints_case_change", args=[obj.case_id]),
            obj.case,
        )

    @admin.display(description=_("evidence found"), boolean=True)
    def evidence_found(self, obj):
        if obj.company_id is None:
            return None
        return bool(services.report_evidence(obj))

    @admin.display(description=_("evidence"))
    def evidence(self, obj):
        if obj.company_id is None:
            return _("Choose the company the report is about to look up its evidence.")
        found = services.report_evidence(obj)
        if not found:
            return _(
                "None: %(company)s neither scrubbed a file nor checked this number under a "
                "use period covering %(date)s."
            ) % {"company": obj.company, "date": date_format(obj.register.date_of(obj.called_at))}
        kinds = {"scrub": _("Scrubbed a file"), "check": _("Checked numbers")}
        return format_html_join(
            "\n",
            '<div class="evidence">{} {}: {} — {} {}</div>',
            (
                (
                    kinds[item.kind],
                    date_format(obj.register.date_of(item.made_at)),
                    item.description,
                    _("usable until"),
                    date_format(item.valid_until),
                )
                for item in found
            ),
        )

    @admin.display(description=_("reports against this company"))
    def reports_against_company(self, obj):
        if obj.company_id is None:
            return "—"
        count = ViolationReport.objects.filter(register=obj.register, company=obj.company).count()
        url = reverse("admin:complaints_violationreport_changelist")
        return format_html('<a href="{}?company__id__exact={}">{}</a>', url, obj.company_id, count)

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="complaints_violationreport_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The regulator's export of a period: a form, then the CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReportPeriodForm(request.GET or None)
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            response = StreamingHttpResponse(
                services.reports_export_rows(register=request.register, start=start, end=end),
                content_type="text/csv; charset=utf-8",
            )
            name = f"violation-reports-{request.register.slug}-{start}-{end}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'

            return response
        return TemplateResponse(
            request,
            "admin/complaints/violationreport/export.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Export violation reports for the regulator"),
                "form": form,
            },
        )
