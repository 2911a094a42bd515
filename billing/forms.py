"""The shop's order form (SPEC §7, §12): one product of the company's catalogue at a time."""

from django import forms
from django.apps import apps
from django.utils.translation import gettext_lazy as _

from licences.models import Company
from licences.selectors import products_for_company
from register.forms import EMPTY_CHOICE


class OrderForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"))
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100, initial=1)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=None,
        required=False,
        empty_label=EMPTY_CHOICE,
        help_text=_("The licence is added to this campaign."),
    )

    def __init__(self, *args, company: Company, **kwargs):
        super().__init__(*args, **kwargs)
        self.products = {p.code: p for p in products_for_company(company=company)}
        self.fields["product"].choices = [(code, code) for code in self.products]
        # Only the company's own campaigns: a call centre does not buy for its advertisers.
        # By app registry rather than import: billing sits beside campaigns, not above it.
        self.campaigns = (
            apps.get_model("campaigns", "Campaign").objects.filter(company=company).order_by("name")
        )
        self.fields["campaign"].queryset = self.campaigns

    def clean(self):
        cleaned_data = super().clean()
        product = self.products.get(cleaned_data.get("product"))
        if product is not None:
            cleaned_data["product"] = product
            if product.requires_campaign and cleaned_data.get("campaign") is None:
                self.add_error("campaign", _("Choose the campaign this licence is for."))
            elif not product.requires_campaign:
                cleaned_data["campaign"] = None
        return cleaned_data
