"""A stored contact telephone in the API: E.164 text, or null when none is given (SPEC §16)."""

from phonenumber_field.phonenumber import PhoneNumber
from rest_framework import serializers


class E164Field(serializers.CharField):
    """Read-only: `+31201234567`, or null for an empty contact telephone."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        if not value:
            return None
        return value.as_e164 if isinstance(value, PhoneNumber) else str(value)
