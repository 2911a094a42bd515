"""Django's own error answers in the API's error shape under /api/ (SPEC §16, STYLE 12).

DRF's exception handler (config.api) shapes what goes wrong inside an API view. What goes wrong
before one runs is Django's to answer: an unknown path (404), an unknown host (RegisterMiddleware's
404, or a 400 for a host outside ALLOWED_HOSTS), a body over DATA_UPLOAD_MAX_MEMORY_SIZE, an
unhandled exception (500). The handlers below, named in config/urls.py, answer those
`{"detail", "code"}` for a path under /api/ and Django's HTML pages (templates/404.html,
500.html) everywhere else. Django calls them from the middleware layer that met the exception,
RegisterMiddleware included, so an unknown host gets them too.

ApiErrorShapeMiddleware is the net for error answers that are responses rather than exceptions
(a view's HttpResponseNotAllowed, the CSRF failure view, DEBUG's technical pages): under /api/,
any error answer that is not JSON is replaced by the shape, with the status kept.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults

API_PREFIX = "/api/"

# The code and the message of an error answer by its status, where nothing more precise is known.
STATUS_ERRORS = {
    400: ("bad_request", _("The request could not be understood.")),
    401: ("not_authenticated", _("Authentication credentials were not provided.")),
    403: ("permission_denied", _("You do not have permission to perform this action.")),
    404: ("not_found", _("Not found.")),
    405: ("method_not_allowed", _("This method is not allowed here.")),
    409: ("conflict", _("The request conflicts with the object's state.")),
    410: ("gone", _("This is no longer available.")),
    413: ("too_large", _("The request is too large.")),
    415: ("unsupported_media_type", _("This media type is not supported.")),
    429: ("rate_limited", _("Too many requests.")),
    500: ("server_error", _("A server error occurred.")),
    503: ("service_unavailable", _("The service is temporarily unavailable.")),
}


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_error(status: int, detail: str | None = None, code: str | None = None) -> JsonResponse:
    default_code, default_detail = STATUS_ERRORS.get(status, ("error", _("The request failed.")))
    return JsonResponse(
        {"detail": str(detail or default_detail), "code": code or default_code}, status=status
    )


def _message(exception) -> str | None:
    """The exception's own message when it was written for the caller (Http404's, say)."""
    if exception is None or not exception.args:
        return None
    message = exception.args[0]
    return message if isinstance(message, str) and message else None


def bad_request(request, exception):
    if not is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return api_error(413)
    return api_error(400)


def permission_denied(request, exception):
    if not is_api(request):
        return defaults.permission_denied(request, exception)
    return api_error(403)


def page_not_found(request, exception):
    if not is_api(request):
        return defaults.page_not_found(request, exception)
    # Only Http404's message is meant for the caller (the resolver's Resolver404 lists patterns).
    detail = _message(exception) if type(exception) is Http404 else None
    return api_error(404, detail)


def server_error(request):
    if not is_api(request):
        return defaults.server_error(request)
    return api_error(500)


class ApiErrorShapeMiddleware:
    """Under /api/, an error answer that is not JSON becomes `{"detail", "code"}` (module doc).

    Sits above RegisterMiddleware so that an unknown host's answer passes through it, and below
    OutageMiddleware, whose 503 is in the shape already.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not response.streaming
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            shaped = api_error(response.status_code)
            for header in ("Allow", "Retry-After", "Vary", "Content-Language"):
                if header in response:
                    shaped[header] = response[header]
            return shaped
        return response
