"""Forms of the consumer pages: they read and check input; services do the work."""

from functools import cache

import phonenumbers
from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from register.models import Register
from register.phone.forms import PhoneNumberFormField, e164_digits
from register.services import numbers_parse

# The one label of an empty choice in every select of the portal (issue 13).
EMPTY_CHOICE = _("— choose —")


@cache
def example_numbers(region: str) -> tuple[str, str]:
    """A mobile number written nationally and a fixed line internationally, from the register's
    own number plan, so the hint shows numbers people of that country recognise."""
    mobile = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    fixed = phonenumbers.example_number_for_type(region, PhoneNumberType.FIXED_LINE)
    return (
        phonenumbers.format_number(mobile, PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(fixed, PhoneNumberFormat.INTERNATIONAL),
    )


YES, NO = "yes", "no"


class CategoryChoicesMixin:
    """Asks explicitly, per category of the register, whether to block it (seed 002).

    No choice is preselected for a new block: the law wants the consumer to be asked, not
    to find an answer already given.
    """

    def add_category_fields(self, register: Register, initial_codes: list[str] | None = None):
        self.register = register
        for code in register.categories:
            self.fields[f"category_{code}"] = forms.ChoiceField(
                label=register.category_label(code, self.language),
                choices=[(YES, _("Yes, block these calls")), (NO, _("No, these may call me"))],
                widget=forms.RadioSelect,
                initial=None if initial_codes is None else (YES if code in initial_codes else NO),
                error_messages={"required": _("Choose yes or no.")},
            )

    @property
    def category_fields(self):
        return [self[f"category_{code}"] for code in self.register.categories]

    def chosen_categories(self) -> list[str]:
        return [
            code
            for code in self.register.categories
            if self.cleaned_data.get(f"category_{code}") == YES
        ]

    def check_some_category(self, cleaned_data) -> None:
        answered = all(f"category_{code}" in cleaned_data for code in self.register.categories)
        if self.register.has_categories and answered and not self.chosen_categories():
            raise forms.ValidationError(
                _("Choose “yes” for at least one kind of call, or nothing would be blocked."),
                code="no_category",
            )


class BlockForm(CategoryChoicesMixin, forms.Form):
    numbers = forms.CharField(
        label=_("Telephone numbers"),
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "tel", "spellcheck": "false"}),
        error_messages={"required": _("Enter at least one telephone number.")},
    )
    email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_(
            "We send the confirmation link here. We use it only to manage your registration."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter a valid e-mail address, like name@example.nl."),
        },
    )

    def __init__(self, *args, register: Register, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        mobile, fixed = example_numbers(register.country)
        self.fields["numbers"].help_text = _(
            "One number per line, at most %(max)d. For example %(mobile)s or %(fixed)s."
        ) % {"max": register.max_numbers_per_request, "mobile": mobile, "fixed": fixed}
        self.add_category_fields(register)
        # Errors are summarised in the order the page asks: numbers, categories, address.
        self.order_fields([name for name in self.fields if name != "email"] + ["email"])
        self.merged: list[str] = []

    def clean_numbers(self) -> list[int]:
        parsed = numbers_parse(
            register=self.register, raw_numbers=self.cleaned_data["numbers"].splitlines()
        )
        if parsed.errors:
            raise forms.ValidationError(parsed.errors)
        if not parsed.numbers:
            raise forms.ValidationError(self.fields["numbers"].error_messages["required"])
        self.merged = parsed.merged
        return parsed.numbers

    def clean(self):
        cleaned_data = super().clean()
        self.check_some_category(cleaned_data)
        return cleaned_data


class NumberForm(forms.Form):
    number = PhoneNumberFormField(
        label=_("Telephone number"),
        error_messages={"required": _("Enter a telephone number.")},
    )

    def __init__(self, *args, register: Register, **kwargs):
        super().__init__(*args, **kwargs)
        self.register = register
        self.fields["number"].region = register.country

    def clean_number(self) -> int:
        """The E.164 digits, as the register stores and looks numbers up."""
        return e164_digits(self.cleaned_data["number"])


class ManageRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("The e-mail address you registered with"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter a valid e-mail address, like name@example.nl."),
        },
    )


class ChangeCategoriesForm(CategoryChoicesMixin, forms.Form):
    def __init__(self, *args, register: Register, language: str, current: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        self.add_category_fields(register, initial_codes=current)

    def clean(self):
        cleaned_data = super().clean()
        self.check_some_category(cleaned_data)
        return cleaned_data


class DeskBlockForm(CategoryChoicesMixin, NumberForm):
    """The service desk registers a caller's number (SPEC §5, channel phone); the number field
    is NumberForm's, the one place a typed number is read."""

    email = forms.EmailField(
        label=_("Caller's e-mail address (optional)"),
        required=False,
        help_text=_("Only to manage the registration; never in downloads or results."),
    )

    def __init__(self, *args, register: Register, language: str, **kwargs):
        super().__init__(*args, register=register, **kwargs)
        self.language = language
        self.add_category_fields(register)
        self.order_fields(["number", *(f"category_{code}" for code in register.categories)])

    def clean(self):
        cleaned_data = super().clean()
        self.check_some_category(cleaned_data)
        return cleaned_data


class DeskUnblockForm(forms.Form):
    """The desk confirms it heard the caller ask to unblock the number."""

    confirm = forms.BooleanField(label=_("The caller asked to unblock this number"))
