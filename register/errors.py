"""Domain errors: a machine code, a human message and the HTTP status an API answers with.

Services raise them; one DRF exception handler turns them into `{"detail", "code"}` (SPEC §16)
and views turn them into form errors or messages (STYLE 12).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class DomainError(Exception):
    code = "invalid"
    message = _("The request could not be processed.")
    status = 400

    def __init__(self, message=None, *, code: str | None = None, status: int | None = None):
        self.message = message if message is not None else self.message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(str(self.message))


class NotFound(DomainError):
    """Also for another company's objects: never reveal that they exist (SPEC §16)."""

    code = "not_found"
    message = _("Not found.")
    status = 404


class LicenceRequired(DomainError):
    code = "licence_required"
    message = _("Your company has no licence for this.")
    status = 403


class InsufficientCredits(DomainError):
    code = "insufficient_credits"
    message = _("Not enough credits.")
    status = 402


class InsufficientStorage(DomainError):
    """The disk is full (ENOSPC): 507, and nothing of the request was kept (STYLE 19)."""

    code = "insufficient_storage"
    message = _(
        "The server has no room to store your file right now; nothing was kept. Try again in a "
        "while — the service desk has been told."
    )
    status = 507


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API, for the schema (config.api.api_exception_handler)."""

    detail = serializers.CharField()
    code = serializers.CharField()
