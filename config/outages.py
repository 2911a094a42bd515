"""Outages answer 503 with Retry-After, never 500 (STYLE 19, SPEC §16).

While PostgreSQL, Redis (cache, rate limits, broker) or the media disk is gone, every request
fails somewhere: in RegisterMiddleware's first query, in a session or an API key lookup, in a
view. OutageMiddleware, second in MIDDLEWARE (after the health middleware), turns any such
failure below it into a short 503: JSON in the API's error shape under /api/, a plain page in
the visitor's language elsewhere, rendered from nothing but this module (no template context,
which would want the register and the user from the database).

Why a signal as well as a try/except: Django wraps every middleware in
convert_exception_to_response, so an exception raised in RegisterMiddleware becomes a 500
response right there and never reaches a middleware above it. On its way to that 500, Django
sends got_request_exception with the exception being handled; for a request that
OutageMiddleware guards, the receiver below raises it again, and it travels up, layer by layer,
to OutageMiddleware's except clause. This does not depend on DEBUG (the technical 500 page is
never built), and Django's "Internal Server Error" log line with a traceback per request is
replaced by one warning per request. Other exceptions are left alone: they are 500s as before.

DRF catches exceptions inside its views before any middleware sees them: its exception handler
(config.api) answers outages with outage_api_body() and the same header.
"""

import errno
import logging
import sys

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

from register.middleware import RegisterLanguageMiddleware

logger = logging.getLogger(__name__)

# Long enough for a restart or a failover to finish, short enough for a person to wait.
RETRY_AFTER_SECONDS = 5

OUTAGE_ERRORS = (
    # psycopg's connection errors, as Django raises them: a refused or broken connection,
    # a server shutting down, a query cancelled by it.
    OperationalError,
    InterfaceError,
    # Redis gone or loading its data (BusyLoadingError is a ConnectionError).
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    # A task published while the broker is gone, once kombu's retries are spent.
    kombu.exceptions.OperationalError,
)
# The media volume full: an upload or a result file cannot be written.
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}

# The page is rendered without the locale catalogue's help only because it must render with
# nothing working; its texts are here in each of the project's languages (SPEC §17).
MESSAGES = {
    "nl": (
        "Tijdelijk niet beschikbaar",
        "Door een storing aan onze kant is de dienst even niet bereikbaar. "
        "Probeer het over enkele ogenblikken opnieuw.",
    ),
    "en": (
        "Temporarily unavailable",
        "Because of a fault on our side the service cannot be reached for a moment. "
        "Please try again in a few moments.",
    ),
    "fr": (
        "Temporairement indisponible",
        "À la suite d'un incident de notre côté, le service est momentanément inaccessible. "
        "Veuillez réessayer dans quelques instants.",
    ),
    "de": (
        "Vorübergehend nicht verfügbar",
        "Wegen einer Störung auf unserer Seite ist der Dienst kurz nicht erreichbar. "
        "Bitte versuchen Sie es in wenigen Augenblicken erneut.",
    ),
}

PAGE = """<!doctype html>
<html lang="{}">
<head><meta charset="utf-8"><title>{}</title></head>
<body>
  <h1>{}</h1>
  <p>{}</p>
</body>
</html>
"""

# Set on the request by OutageMiddleware: an outage below it may be passed up to it.
GUARDED = "_outage_guarded"


def is_outage(error: BaseException | None) -> bool:
    if isinstance(error, OUTAGE_ERRORS):
        return True
    return isinstance(error, OSError) and error.errno in DISK_FULL


def outage_language(request) -> str:
    """The language the request was being served in, else the browser's choice: no register is
    known when the database is gone."""
    chosen = getattr(request, "LANGUAGE_CODE", None)
    if chosen in MESSAGES:
        return chosen
    return RegisterLanguageMiddleware.choose(request, [code for code, _ in settings.LANGUAGES])


def outage_api_body(request) -> dict:
    return {"detail": MESSAGES[outage_language(request)][1], "code": "service_unavailable"}


def outage_headers() -> dict:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def outage_log(request, error: BaseException) -> None:
    logger.warning(
        "Service unavailable (%s: %s): %s %s",
        error.__class__.__name__,
        str(error).strip().splitlines()[0] if str(error).strip() else "",
        request.method,
        request.path,
    )


def outage_response(request) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        response = JsonResponse(outage_api_body(request), status=503)
    else:
        language = outage_language(request)
        title, text = MESSAGES[language]
        response = HttpResponse(format_html(PAGE, language, title, title, text), status=503)
        response["Content-Language"] = language
    for name, value in outage_headers().items():
        response[name] = value
    add_never_cache_headers(response)
    return response


class OutageMiddleware:
    """A 503 with Retry-After for an outage raised anywhere below it (see the module's doc)."""

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(pass_outage_up, dispatch_uid="config.outages")

    def __call__(self, request):
        setattr(request, GUARDED, True)
        try:
            return self.get_response(request)
        except Exception as error:
            if not is_outage(error):
                raise
            outage_log(request, error)
            return outage_response(request)


def pass_outage_up(sender, request=None, **kwargs):
    """got_request_exception receiver: re-raises an outage of a guarded request, so that it
    reaches OutageMiddleware instead of becoming a 500 in the middleware that met it."""
    error = sys.exc_info()[1]
    if request is not None and getattr(request, GUARDED, False) and is_outage(error):
        raise error
