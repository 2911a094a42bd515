"""The number search form (SPEC §10)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.services import campaign_purposes
from licences.models import Company
from register.forms import EMPTY_CHOICE
from register.phone import Problem
from register.phone.forms import PhoneNumberFormField


class NumberSearchForm(forms.Form):
    """One number against the register and the company's opt-out list (SPEC §10)."""

    # The check answers for another country's or a service number (out of scope); what is no
    # number at all is refused here, before a credit is spent on it.
    number = PhoneNumberFormField(
        label=_("Telephone number"), accept=(Problem.FOREIGN, Problem.SERVICE)
    )
    campaign = forms.TypedChoiceField(label=_("Campaign"), coerce=int, required=False)
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        required=False,
        help_text=_("Leave empty to use the campaign's purpose."),
    )

    def __init__(
        self, *args, company: Company, campaigns, charges_credits: bool, language: str, **kwargs
    ):
        super().__init__(*args, **kwargs)
        register = company.register
        self.fields["number"].region = register.country
        self.fields["campaign"].choices = [("", EMPTY_CHOICE)] + [
            (campaign.pk, campaign.name) for campaign in campaigns
        ]
        if charges_credits:
            self.fields["campaign"].required = True
            self.fields["campaign"].help_text = _(
                "Each number checked costs this campaign one credit."
            )
        purposes = campaign_purposes(register)
        self.fields["purpose"].choices = [("", EMPTY_CHOICE)] + [
            (code, register.category_label(code, language)) for code in purposes
        ]
        if len(purposes) == 1:
            self.fields["purpose"].widget = forms.HiddenInput()
