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


# Every machine code the API answers with, its status and what it means: the table the schema
# documents each operation's errors from (api_errors) and the API docs page lists (SPEC §16).
ERROR_CODES: dict[str, tuple[int, str]] = {
    # Any operation: the request itself.
    "invalid": (400, "A field is invalid; the field's own errors are beside detail and code."),
    "parse_error": (400, "The body is not valid JSON or multipart."),
    "bad_request": (
        400,
        "The request could not be understood (a host this service does not serve).",
    ),
    "not_authenticated": (401, "No API key."),
    "authentication_failed": (401, "An unknown, revoked or other register's API key."),
    "permission_denied": (403, "The key may not do this."),
    "not_found": (404, "No such object, or another company's: never told apart."),
    "method_not_allowed": (405, "The path does not take this method."),
    "unsupported_media_type": (415, "The body's Content-Type is not one the operation takes."),
    "server_error": (500, "A fault on our side."),
    "service_unavailable": (503, "A dependency is down; try again after Retry-After."),
    # Licences and credits.
    "licence_required": (403, "The company holds no licence in force for this."),
    "insufficient_credits": (402, "The campaign's credits do not cover it; nothing is charged."),
    "insufficient_storage": (507, "The disk is full; nothing of the request was kept. Try later."),
    "rate_limited": (429, "Over the licence's numbers a minute; try again after Retry-After."),
    # Campaigns, checks, opt-outs.
    "invalid_purpose": (400, "Not a blocking category of this register."),
    "invalid_name": (400, "A campaign needs a name."),
    "invalid_number": (400, "Not a telephone number of this register."),
    "campaign_required": (400, "nl: the campaign whose credits or licence pay is required."),
    "empty_file": (400, "The file holds no numbers or records."),
    "file_too_large": (413, "The file is over the size limit."),
    # Call files (SPEC §8.8): a file that cannot be read as it is.
    "header_only": (400, "The file holds a header and no records."),
    "no_phone_column": (400, "No column holds telephone numbers."),
    "binary_file": (400, "The file is not text nor an XLSX workbook."),
    "unknown_encoding": (400, "The file's encoding is not one we read."),
    "unbalanced_quotes": (400, "A quoted field is never closed."),
    "ragged_rows": (400, "Rows have different numbers of columns."),
    "too_many_rows": (400, "The file has more records than a call file may."),
    "invalid_setting": (400, "A setting sent with the file cannot apply to it."),
    "unreadable_xlsx": (400, "The workbook cannot be read."),
    "too_large": (413, "The file is over the size limit."),
    # Files made in the background: asked for before they are ready, or after.
    "not_ready": (409, "Not ready yet (queued or running) or failed: see the object's status."),
    "gone": (410, "The file's use period is over and it has been deleted."),
    # Downloads.
    "invalid_since": (400, "`since` is for a delta, and not in the future."),
    "no_earlier_download": (400, "A delta without `since` needs an earlier download."),
    # Orders.
    "order_empty": (400, "An order needs at least one line."),
    "product_not_offered": (400, "The product is not sold to this company."),
    "invalid_quantity": (400, "The quantity must be at least 1."),
    "payment_provider_error": (502, "The payment provider could not be reached; try again."),
    # Cases.
    "too_early": (
        400,
        "A complaint or dispute filed before the rules allow; detail says from when.",
    ),
    "invalid_refers_to": (400, "A complaint refers to a request, a dispute to a complaint."),
    "too_many_attachments": (400, "More attachments than a case may have."),
    "attachment_too_large": (413, "An attachment is over the size limit."),
    # Registration files (SPEC §11).
    "file_empty": (400, "The file holds no registrations."),
    "not_utf8": (400, "The file is not UTF-8."),
    "wrong_header": (400, "The first line is not the header `number|categories|requested_on`."),
    # The operator's IVR (staff keys).
    "invalid_categories": (400, "Not blocking categories of this register."),
}

# Answered by any operation (config.schema adds them to each): authentication where a key is
# needed, the parsers where a body is sent, and faults.
AUTHENTICATION_ERRORS = ("not_authenticated", "authentication_failed")
BODY_ERRORS = ("parse_error", "unsupported_media_type")
FAULT_ERRORS = ("server_error", "service_unavailable")


class ErrorResponse:
    """One status's error answer of an operation, with the codes it may carry (config.schema
    documents it as the Error shape whose `code` is one of them)."""

    def __init__(self, status: int, codes: tuple[str, ...]):
        self.status = status
        self.codes = codes

    @property
    def description(self) -> str:
        return "\n".join(f"- `{code}`: {ERROR_CODES[code][1]}" for code in self.codes)


def api_errors(*codes: str) -> dict[int, ErrorResponse]:
    """The error answers of an operation for `extend_schema(responses={200: …, **api_errors(…)})`,
    by status, from the codes it answers with. Authentication, parser and fault codes are added
    to every operation by config.schema and need not be listed."""
    by_status: dict[int, tuple[str, ...]] = {}
    for code in codes:
        status = ERROR_CODES[code][0]
        by_status[status] = (*by_status.get(status, ()), code)
    return {status: ErrorResponse(status, found) for status, found in by_status.items()}
