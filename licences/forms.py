"""Forms of the company portal: accounts, the company, its members, API keys (SPEC §6, §16)."""

from allauth.account import forms as allauth_forms
from django import forms
from django.utils.translation import gettext_lazy as _

from licences.accounts import email_confirm, normalise_email, unconfirmed_account_password_clear
from licences.models import Company, Membership, Role


class LoginForm(allauth_forms.LoginForm):
    """allauth's login, in the portal's words."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("E-mail address")
        self.fields["password"].help_text = ""


class SignupForm(allauth_forms.SignupForm):
    """allauth's sign-up; a repeated sign-up of an unconfirmed address takes its password away.

    The address's owner is mailed that an account exists, with the way to set a password; the
    password that someone else chose before (a pre-takeover attempt) is gone either way.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("E-mail address")
        self.fields["email"].help_text = _("You log in with it. We send a code to confirm it.")
        self.fields["password1"].label = _("Password")
        self.fields["password2"].label = _("Password again")

    def try_save(self, request):
        if self.account_already_exists:
            unconfirmed_account_password_clear(email=self.cleaned_data["email"])
        return super().try_save(request)


class SetPasswordForm(allauth_forms.ResetPasswordKeyForm):
    """Setting a password from a mailed link (reset or invitation) also confirms the address:
    only its mailbox received the link."""

    def save(self) -> None:
        super().save()
        email_confirm(user=self.user)


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
            "phone",
        ]
        help_texts = {
            "chamber_number": _("KvK number (Netherlands) or KBO number (Belgium)."),
            "vat_id": _("Printed on your invoices."),
            "company_type": _("Call centres and data processors are service providers."),
            "employee_band": _("Some licences are priced by company size."),
            "billing_email": _("Invoices are mailed here."),
            "phone": _("The service desk calls you back on this number."),
        }
        widgets = {
            "company_type": forms.RadioSelect,
            "employee_band": forms.RadioSelect,
        }

    def __init__(self, *args, register, **kwargs):
        super().__init__(*args, **kwargs)
        # The model's checks (licences.identifiers, the chamber number free in the register)
        # need the register of a company being made.
        if self.instance.register_id is None:
            self.instance.register = register
        for name in ("name", "chamber_number", "street", "postcode", "city", "billing_email"):
            self.fields[name].required = True


class MemberAddForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("Someone without an account is e-mailed a link to set a password and log in."),
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
        if Membership.objects.filter(company=self.company, user__email__iexact=email).exists():
            raise forms.ValidationError(_("This person is already a member."))
        return email


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Where the key is used, e.g. “CRM production”."),
    )
