"""Forms of the company portal: accounts, the company, its members, API keys (SPEC §6, §16)."""

import re

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from licences.accounts import normalise_email
from licences.models import Company, Membership, Role

# Chamber of commerce and VAT numbers of the countries whose registers ship (seeds 000, 001).
CHAMBER_NUMBER_FORMATS = {
    "NL": (re.compile(r"^\d{8}$"), _("A KvK number has 8 digits.")),
    "BE": (re.compile(r"^[01]\d{9}$"), _("A KBO number has 10 digits, e.g. 0123.456.789.")),
}
VAT_ID_FORMATS = {
    "NL": (re.compile(r"^NL\d{9}B\d{2}$"), _("A Dutch VAT id looks like NL123456789B01.")),
    "BE": (re.compile(r"^BE[01]\d{9}$"), _("A Belgian VAT id looks like BE0123456789.")),
}


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("You log in with it. We send a link to confirm it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        return normalise_email(self.cleaned_data["email"])

    def clean(self):
        cleaned_data = super().clean()
        password1, password2 = cleaned_data.get("password1"), cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ."))
        elif password1:
            user = get_user_model()(username=cleaned_data.get("email", ""))
            try:
                password_validation.validate_password(password1, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned_data


class LoginForm(AuthenticationForm):
    """Django's login form, with the e-mail address as user name and a hint for unverified
    accounts (told only to someone who knows the password)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or the password is not right."),
        "inactive": _(
            "Your e-mail address is not confirmed yet. Open the link in the e-mail we sent you, "
            "or sign up again to receive a new link."
        ),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("E-mail address")
        self.fields["username"].widget.attrs["autocomplete"] = "email"

    def clean_username(self) -> str:
        return normalise_email(self.cleaned_data["username"])

    def get_invalid_login_error(self):
        user = get_user_model().objects.filter(username=self.cleaned_data.get("username")).first()
        password = self.cleaned_data.get("password")
        if user is not None and not user.is_active and password and user.check_password(password):
            return forms.ValidationError(self.error_messages["inactive"], code="inactive")
        return super().get_invalid_login_error()


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = [
            "name",
            "chamber_number",
            "vat_id",
            "street",
            "postcode",
            "city",
            "country",
            "company_type",
            "employee_band",
            "billing_email",
        ]
        help_texts = {
            "chamber_number": _("KvK number (Netherlands) or KBO number (Belgium)."),
            "vat_id": _("Printed on your invoices."),
            "country": _("Two-letter country code, e.g. NL or BE."),
            "company_type": _("Call centres and data processors are service providers."),
            "employee_band": _("Some licences are priced by company size."),
            "billing_email": _("Invoices are mailed here."),
        }
        widgets = {
            "company_type": forms.RadioSelect,
            "employee_band": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "chamber_number", "street", "postcode", "city", "billing_email"):
            self.fields[name].required = True

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def clean_chamber_number(self) -> str:
        return re.sub(r"[\s.]", "", self.cleaned_data["chamber_number"])

    def clean_vat_id(self) -> str:
        return re.sub(r"[\s.]", "", self.cleaned_data["vat_id"]).upper()

    def clean(self):
        cleaned_data = super().clean()
        country = cleaned_data.get("country")
        for field, formats in (
            ("chamber_number", CHAMBER_NUMBER_FORMATS),
            ("vat_id", VAT_ID_FORMATS),
        ):
            value = cleaned_data.get(field)
            pattern, message = formats.get(country, (None, None))
            if value and pattern is not None and not pattern.match(value):
                self.add_error(field, message)
        return cleaned_data


class MemberAddForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("The person must have signed up and confirmed this address."),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Role.choices,
        initial=Role.MEMBER,
        widget=forms.RadioSelect,
        help_text=_(
            "Owners manage the company and its members; members use the register; accounting "
            "sees invoices only."
        ),
    )

    def __init__(self, *args, company: Company, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        user = get_user_model().objects.filter(username=email, is_active=True).first()
        if user is None:
            raise forms.ValidationError(
                _("Nobody with a confirmed account uses this address. Ask them to sign up first.")
            )
        if Membership.objects.filter(company=self.company, user=user).exists():
            raise forms.ValidationError(_("This person is already a member."))
        self.user = user
        return email


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Where the key is used, e.g. “CRM production”."),
    )
