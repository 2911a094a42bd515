"""The model field for one stored contact telephone (SPEC §4): E.164 text by the package's field."""

from phonenumber_field.modelfields import PhoneNumberField

from register.phone.forms import PhoneNumberFormField
from register.phone.reference import Problem


class ContactPhoneNumberField(PhoneNumberField):
    """A telephone number to call someone back on, stored in E.164, empty when not given.

    Its forms (the portal's, the admin's) use `PhoneNumberFormField` in the register's region,
    taking any real number: a company's desk may be an 088 or 0800 number (service numbers to
    the normaliser) or abroad; only the consumer's own pages insist on a consumer number.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        kwargs.setdefault("form_class", PhoneNumberFormField)
        kwargs.setdefault("accept", (Problem.FOREIGN, Problem.SERVICE))
        return super().formfield(**kwargs)
