"""Filing a request, complaint or dispute (SPEC §14, seed 003) in the browser.

The consumer's public form and the company portal's form share the fields; they differ in who
files (name and address typed in, or the logged-in user) and in how an earlier case is named
(its case number with the address it was filed from, or a choice among the company's own).
"""

import datetime

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, CaseKind
from complaints.services import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from register.forms import NumberForm
from register.phone import Problem
from register.phone.forms import PhoneNumberFormField

# A number to call the filer back on may be abroad or a company's service number.
CONTACT_PROBLEMS = (Problem.FOREIGN, Problem.SERVICE)

KIND_CHOICES = [
    (CaseKind.REQUEST, _("A question or request to the service desk")),
    (CaseKind.COMPLAINT, _("A complaint to the director about how a request was handled")),
    (CaseKind.DISPUTE, _("A dispute before the board about the director's decision")),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field: Django's FileField takes one. Optional unless said otherwise;
    the number and size of the files are the service's rules (`case_file`), which the views
    show on this field. The public and portal forms and the admin's step forms all use it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = data if isinstance(data, list | tuple) else [data] if data else []
        if not items and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class CaseForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What do you want to file?"),
        choices=KIND_CHOICES,
        widget=forms.RadioSelect,
        help_text=_(
            "A request goes to the service desk. When you are not satisfied with how it was "
            "handled, or it was not handled within 5 working days, you can complain to the "
            "director; when you are not satisfied with the director's decision, you can bring a "
            "dispute before the board."
        ),
    )
    earlier = forms.CharField(
        label=_("Describe your earlier request or complaint"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Only for a complaint or dispute without a reference number: when and how you "
            "asked, and what answer you got."
        ),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Your question, request or motivation"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "A complaint or dispute is only taken up when it is motivated: say what you are "
            "dissatisfied with and why."
        ),
    )
    attachments = MultipleFileField(label=_("Attachments"))
    late_reason = forms.CharField(
        label=_("I could not reasonably file sooner because…"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Only when you file a complaint or dispute after its term: the director or the "
            "board may still take it up when filing sooner could not reasonably be expected."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted per form, in the visitor's language: a class attribute would be formatted
        # once, at import, in whatever language was active then.
        self.fields["attachments"].help_text = _(
            "Documents that support your case (at most %(count)d files of %(size)s each)."
        ) % {"count": MAX_ATTACHMENTS, "size": filesizeformat(MAX_ATTACHMENT_BYTES)}

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == CaseKind.REQUEST:
            cleaned["late_reason"] = ""
            cleaned["earlier"] = ""
            if cleaned.get("refers_to"):
                self.add_error(
                    "refers_to", _("A request stands on its own: leave this field empty.")
                )
        elif (
            kind
            and not cleaned.get("refers_to")
            and not cleaned.get("earlier")
            and "refers_to" not in self.errors
        ):
            self.add_error(
                "earlier",
                _(
                    "Say which earlier case this is about: give its reference number or "
                    "describe it."
                ),
            )
        return cleaned

    def filing_body(self) -> str:
        """The motivation, preceded by the description of an earlier case without a number, so
        staff read both in the one written complaint the regulation asks for (art. 3.1)."""
        body, earlier = self.cleaned_data["body"], self.cleaned_data["earlier"]
        if not earlier:
            return body
        return f"{_('Earlier request or complaint')}: {earlier}\n\n{body}"


class PublicCaseForm(CaseForm):
    """For consumers: the earlier case by its reference number and the address it came from."""

    refers_to = forms.CharField(
        label=_("Case number of your earlier request or complaint"),
        required=False,
        max_length=20,
        help_text=_("As in our e-mail about it, for example 1234."),
    )
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_("We send the link to follow your case and our letters to this address."),
    )
    phone = PhoneNumberFormField(
        label=_("Your telephone number (optional)"),
        required=False,
        accept=CONTACT_PROBLEMS,
        help_text=_("If you would like the service desk to call you back."),
    )
    field_order = [
        "kind",
        "refers_to",
        "earlier",
        "subject",
        "body",
        "attachments",
        "late_reason",
        "name",
        "email",
        "phone",
    ]

    def __init__(self, *args, register, **kwargs):
        self.register = register
        super().__init__(*args, **kwargs)
        self.fields["phone"].region = register.country

    def clean(self):
        number = self.cleaned_data.get("refers_to", "").strip().lstrip("#")
        email = self.cleaned_data.get("email")
        if number and email:
            # Only a case filed from the same address: case numbers are easy to guess, and the
            # answer to a complaint about someone else's case would tell its dates.
            earlier = (
                Case.objects.filter(
                    register=self.register, pk=int(number), filer_email__iexact=email
                ).first()
                if number.isdigit()
                else None
            )
            if earlier is None:
                self.add_error(
                    "refers_to",
                    _(
                        "We know no case with this number filed from this e-mail address. "
                        "Check both, or leave the number empty and describe it."
                    ),
                )
            else:
                self.cleaned_data["refers_to"] = earlier
        return super().clean()


class PortalCaseForm(CaseForm):
    """For a company user: the earlier case is one of the company's own."""

    refers_to = forms.ModelChoiceField(
        label=_("Earlier request or complaint"),
        queryset=Case.objects.none(),
        required=False,
        empty_label=_("— none —"),
    )
    phone = PhoneNumberFormField(
        label=_("Telephone number to call you back on (optional)"),
        required=False,
        accept=CONTACT_PROBLEMS,
        help_text=_("Filled in with your company's contact telephone."),
    )
    field_order = [
        "kind",
        "refers_to",
        "earlier",
        "subject",
        "body",
        "attachments",
        "late_reason",
        "phone",
    ]

    def __init__(self, *args, cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["refers_to"].queryset = cases.exclude(kind=CaseKind.DISPUTE)
        self.fields["refers_to"].label_from_instance = lambda case: (
            f"{case.pk} – {case.get_kind_display()} – {case.subject}"
        )


class ReportForm(NumberForm):
    """ "I was called despite my registration" (issue #14). The number called is NumberForm's
    field, the one place a typed number is read (the register's normaliser)."""

    called_on = forms.DateField(
        label=_("Date of the call"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter the date as YYYY-MM-DD.")},
    )
    called_time = forms.TimeField(
        label=_("Time of the call"),
        widget=forms.TimeInput(attrs={"type": "time"}),
        error_messages={"invalid": _("Enter the time as HH:MM.")},
    )
    company_named = forms.CharField(
        label=_("The company the caller named"),
        max_length=200,
        help_text=_("The company the call was for, as the caller said it."),
    )
    caller_name = forms.CharField(label=_("The caller's name"), max_length=200, required=False)
    caller_number = PhoneNumberFormField(
        label=_("The number that called you"),
        required=False,
        accept=CONTACT_PROBLEMS,
        help_text=_("As your phone showed it, if it did."),
    )
    offered = forms.CharField(
        label=_("What was offered"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    body = forms.CharField(
        label=_("Anything else"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_("We send the link to follow your report and our answer to this address."),
    )

    def __init__(self, *args, register, **kwargs):
        super().__init__(*args, register=register, **kwargs)
        self.fields["number"].label = _("Your number that was called")
        self.fields["caller_number"].region = register.country

    def clean_caller_number(self) -> str:
        """E.164, as the report keeps it; empty when the phone showed no number."""
        number = self.cleaned_data["caller_number"]
        return number.as_e164 if number else ""

    def clean(self):
        cleaned = super().clean()
        day, time = cleaned.get("called_on"), cleaned.get("called_time")
        if day and time:
            called_at = datetime.datetime.combine(day, time, self.register.zone)
            if called_at > timezone.now():
                self.add_error("called_on", _("The call cannot lie in the future."))
            cleaned["called_at"] = called_at
        return cleaned
