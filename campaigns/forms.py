"""Forms of the campaign pages (SPEC §6)."""

import re

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.services import campaign_purposes
from licences.models import Company, CompanyType
from register.phone import Problem
from register.phone.forms import PhoneNumberFormField


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        widget=forms.RadioSelect,
        help_text=_("The kind of calls; numbers blocked for this kind are marked."),
    )
    call_centre = forms.CharField(
        label=_("Call centre (optional)"),
        required=False,
        help_text=_(
            "If another company makes the calls: its chamber of commerce number or exact legal "
            "name. It is invited and, once it accepts, uses this campaign's files too."
        ),
    )

    def __init__(self, *args, company: Company, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company
        register = company.register
        purposes = campaign_purposes(register)
        self.fields["purpose"].choices = [
            (code, register.category_label(code, language)) for code in purposes
        ]
        if len(purposes) == 1:
            self.fields["purpose"].initial = purposes[0]
            self.fields["purpose"].widget = forms.HiddenInput()

    def clean_call_centre(self) -> Company | None:
        query = self.cleaned_data["call_centre"].strip()
        if not query:
            return None
        providers = Company.objects.filter(
            register=self.company.register_id, company_type=CompanyType.SERVICE_PROVIDER
        ).exclude(pk=self.company.pk)
        matches = list(
            providers.filter(Q(chamber_number=re.sub(r"[\s.]", "", query)) | Q(name__iexact=query))[
                :2
            ]
        )
        if not matches:
            raise forms.ValidationError(
                _("No call centre with this number or name has an account in this register.")
            )
        if len(matches) > 1:
            raise forms.ValidationError(
                _("Several companies have this name; give the chamber of commerce number.")
            )
        return matches[0]


class OptOutForm(forms.Form):
    # Any real number: whoever told the company not to call may have a service or foreign one.
    number = PhoneNumberFormField(
        label=_("Telephone number"),
        accept=(Problem.FOREIGN, Problem.SERVICE),
        help_text=_("A number that asked your company not to call it again."),
    )


class OptOutUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "One number a line, or a CSV file with the numbers in the first column. "
            "A first line without digits is read as a header."
        ),
    )


# Call files (SPEC §8): the upload and the correction of the detected settings
