"""The HTTP API, version 1 (SPEC §16): one error shape for everything that goes wrong."""

from django.urls import include, path
from django.utils.cache import add_never_cache_headers
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from config.outages import is_outage, outage_api_body, outage_headers, outage_log
from register.errors import DomainError

DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.Throttled: "rate_limited",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
}


def api_exception_handler(exc, context):
    """`{"detail": "<human message>", "code": "<machine code>"}` plus DRF's field errors on 400.

    A database, Redis or disk outage met inside a view is a 503 with Retry-After, as
    OutageMiddleware answers one met outside DRF (config/outages.py).
    """
    if is_outage(exc):
        outage_log(context["request"], exc)
        response = Response(
            outage_api_body(context["request"]),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=outage_headers(),
        )
        add_never_cache_headers(response)
        return response
    if isinstance(exc, DomainError):
        # A domain error that knows when to try again says so (a rate limit's 429).
        retry_after = getattr(exc, "retry_after", None)
        return Response(
            {"detail": str(exc.message), "code": exc.code},
            status=exc.status,
            headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = next(iter(fields.values()), [""])
        message = first[0] if isinstance(first, list) and first else str(first)
        response.data = {"detail": str(message), "code": "invalid", **fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code = next(
        (name for cls, name in DRF_CODES.items() if isinstance(exc, cls)),
        getattr(exc, "default_code", "error"),
    )
    response.data = {"detail": str(getattr(exc, "detail", exc)), "code": code}
    return response


urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]


def api_urls(*app_url_modules: str):
    return [*urlpatterns, *(path("", include(module)) for module in app_url_modules)]
