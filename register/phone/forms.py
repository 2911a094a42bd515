"""The form field for one telephone number a person types (SPEC §4).

django-phonenumber-field's field, judged by our normaliser: the verdict is `normalise`'s, so a
number the bulk paths accept is accepted here and one they refuse is refused with the same
message (`register.phone.messages`), in the page's language. The region is the register's.
"""

from collections.abc import Iterable

from django import forms
from django.core import validators
from django.core.exceptions import ImproperlyConfigured
from django_scopes import get_scope
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from register.phone.messages import problem_code, problem_message
from register.phone.normaliser import normalise
from register.phone.reference import Problem

# The longest text a person types for one number, separators and all.
MAX_LENGTH = 64


class PhoneNumberInput(forms.TextInput):
    """`<input type="tel" autocomplete="tel">`, a stored number shown in international format."""

    input_type = "tel"

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "tel", "spellcheck": "false", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, PhoneNumber) and value.is_valid():
            return value.as_international
        return super().format_value(value)


def phone_number(digits: int) -> PhoneNumber:
    """E.164 digits as the package's number (the model field's value)."""
    return PhoneNumber.from_string(f"+{digits}")


def e164_digits(number: PhoneNumber) -> int:
    """The package's number as the E.164 digits the register stores (`bigint`)."""
    return int(number.as_e164.removeprefix("+"))


class PhoneNumberFormField(PhoneNumberField):
    """One telephone number, cleaned to a `PhoneNumber` in E.164.

    `accept` names the normaliser's problems this form takes anyway: a contact telephone may be
    another country's (`Problem.FOREIGN`), the opt-out list holds any real number. By default
    only the register's own consumer numbers pass, as on the consumer's pages. `region` is the
    register's country; without it the field reads the register of the request's scope.
    """

    widget = PhoneNumberInput
    default_validators = []

    def __init__(self, *, accept: Iterable[Problem] = (), region: str | None = None, **kwargs):
        kwargs.setdefault("max_length", MAX_LENGTH)
        super().__init__(region=region, **kwargs)
        self.accept = frozenset(accept)
        if Problem.INVALID in self.accept:
            raise ImproperlyConfigured("a telephone number field cannot accept invalid numbers")

    def current_region(self) -> str:
        if self.region:
            return self.region
        register = get_scope().get("register")
        if register is None:
            raise ImproperlyConfigured("PhoneNumberFormField needs a region outside a register")
        return register.country

    def to_python(self, value):
        if value in validators.EMPTY_VALUES:
            return self.empty_value
        if isinstance(value, PhoneNumber):
            value = value.as_e164
        raw = forms.CharField.to_python(self, value)
        if raw in validators.EMPTY_VALUES:
            return self.empty_value
        region = self.current_region()
        result = normalise(raw, region)
        # A short service number ("112") has no E.164 form to keep, accepted or not.
        if result.number is None or (result.problem and result.problem not in self.accept):
            raise forms.ValidationError(
                problem_message(raw, result, region), code=problem_code(raw, result, region)
            )
        return phone_number(result.number)
