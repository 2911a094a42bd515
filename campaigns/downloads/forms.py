"""The download request form (SPEC §9)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, DownloadKind
from register.forms import EMPTY_CHOICE


class DownloadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Download"),
        choices=[
            (DownloadKind.FULL, _("The full list")),
            (DownloadKind.DELTA, _("Only the changes (additions and removals)")),
        ],
        widget=forms.RadioSelect,
        initial=DownloadKind.FULL,
    )
    since = forms.DateField(
        label=_("Changes since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For changes only: from this day on; empty for since your last download."),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.none(),
        required=False,
        empty_label=EMPTY_CHOICE,
        help_text=_("Each download uses one download licence of this campaign."),
    )

    def __init__(self, *args, company, uses_licences: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if uses_licences:
            self.fields["campaign"].queryset = Campaign.objects.filter(company=company)
            self.fields["campaign"].required = True
        else:
            del self.fields["campaign"]
