"""Forms of the case workflow in the admin: recording a case from post or e-mail, and the small
forms of the steps that need text, a date or files. Each turns its data into the keyword
arguments of one service (`complaints.services`)."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.forms import CONTACT_PROBLEMS, MultipleFileField
from complaints.models import Case, CaseChannel, CaseKind
from register.phone.forms import PhoneNumberFormField

TEXTAREA = forms.Textarea(attrs={"rows": 10, "cols": 80})


class StepForm(forms.Form):
    """A step's form; `register` gives dates their time zone. `reply_field` names the text a
    reply template fills in, where the step writes to the filer."""

    reply_field = ""

    def __init__(self, *args, register, **kwargs):
        self.register = register
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class ConfirmForm(StepForm):
    """Steps without input: the page only confirms, since most of them write to the user."""


class MotivationForm(StepForm):
    reply_field = "motivation"
    motivation = forms.CharField(label=_("Motivation"), widget=TEXTAREA)


class ReasonForm(StepForm):
    reply_field = "reason"
    reason = forms.CharField(label=_("Reason"), widget=TEXTAREA)


class PositionDeadlineForm(StepForm):
    position_by = forms.DateField(
        label=_("Director's position by"), widget=forms.DateInput(attrs={"type": "date"})
    )


class PositionForm(StepForm):
    position = forms.CharField(label=_("The director's position"), widget=TEXTAREA)
    attachments = MultipleFileField(label=_("Documents"))


class ReactionForm(StepForm):
    reaction = forms.CharField(label=_("The user's reaction"), widget=TEXTAREA)
    attachments = MultipleFileField(label=_("Documents"))


class HearingForm(StepForm):
    place = forms.CharField(label=_("Place"), max_length=200)
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        at = datetime.datetime.combine(data["day"], data["time"], tzinfo=self.register.zone)
        return {"place": data["place"], "at": at}


class AssignForm(StepForm):
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=None,
        required=False,
        empty_label=_("nobody"),
        help_text=_("Staff of this register."),
    )

    def __init__(self, *args, register, **kwargs):
        super().__init__(*args, register=register, **kwargs)
        self.fields["assignee"].queryset = register.staff.filter(is_active=True).order_by("email")
        self.fields["assignee"].label_from_instance = lambda user: (
            user.get_full_name() or user.email or user.get_username()
        )


class NoteForm(StepForm):
    text = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_("Seen by staff only: never in a letter, the portal or the filer's page."),
    )


class AttachForm(StepForm):
    files = MultipleFileField(label=_("Documents"), required=True)


class CaseRecordForm(StepForm):
    """A request, complaint or dispute received by post or e-mail, with its real date."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        # A violation report is filed by the consumer with its details, on the public page.
        choices=[choice for choice in CaseKind.choices if choice[0] != CaseKind.REPORT],
    )
    refers_to = forms.ModelChoiceField(
        label=_("Refers to"),
        queryset=Case.objects.none(),
        required=False,
        help_text=_("A complaint refers to its request, a dispute to its complaint."),
    )
    channel = forms.ChoiceField(
        label=_("Received by"),
        choices=[
            (channel.value, channel.label) for channel in (CaseChannel.POST, CaseChannel.EMAIL)
        ],
    )
    received_on = forms.DateField(
        label=_("Date of receipt"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The day the letter or e-mail arrived: every term runs from it."),
    )
    filer_name = forms.CharField(label=_("Filer's name"), max_length=200, required=False)
    filer_email = forms.EmailField(label=_("Filer's e-mail"))
    filer_phone = PhoneNumberFormField(
        label=_("Filer's telephone"), required=False, accept=CONTACT_PROBLEMS
    )
    language = forms.ChoiceField(label=_("Language of the letters"))
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=TEXTAREA)
    late_reason = forms.CharField(
        label=_("Filer's reason for filing late"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        required=False,
    )
    attachments = MultipleFileField(label=_("Documents"))

    def __init__(self, *args, register, **kwargs):
        super().__init__(*args, register=register, **kwargs)
        self.fields["filer_phone"].region = register.country
        self.fields["refers_to"].queryset = Case.objects.filter(
            register=register, kind__in=[CaseKind.REQUEST, CaseKind.COMPLAINT]
        ).order_by("-received_at")
        self.fields["language"].choices = [(code, code) for code in register.languages]

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        received_on = data.pop("received_on")
        # Terms count calendar days: the start of the day of receipt in the register's zone.
        data["received_at"] = datetime.datetime.combine(
            received_on, datetime.time.min, tzinfo=self.register.zone
        )
        return data
