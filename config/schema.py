"""The API's OpenAPI schema documents every error an operation answers, with its codes (SPEC §16).

Each operation lists its own codes with register.errors.api_errors; ApiAutoSchema adds the ones
every operation may answer (no or a wrong key, a body the parsers refuse, a fault, an outage) and
documents each status as the Error shape whose `code` is one of the listed values, so a client
and the conformance test (tests/test_schema.py) know them. An `ErrorSerializer` given alone, as
some operations still do, stands for the codes usual for its status (DEFAULT_CODES).
add_error_codes lists the whole table on the docs page.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from register.errors import (
    AUTHENTICATION_ERRORS,
    BODY_ERRORS,
    ERROR_CODES,
    FAULT_ERRORS,
    ErrorResponse,
    ErrorSerializer,
)

DEFAULT_CODES = {
    400: ("invalid",),
    401: AUTHENTICATION_ERRORS,
    402: ("insufficient_credits",),
    403: ("licence_required",),
    404: ("not_found",),
    409: ("not_ready",),
    410: ("gone",),
    413: ("too_large",),
    429: ("rate_limited",),
}

# The answers that say when to try again.
RETRY_AFTER = {
    429: "Seconds until the licence's allowance of numbers a minute is free again.",
    503: "Seconds after which the service is likely back.",
}


class ApiAutoSchema(AutoSchema):
    def _common_codes(self) -> tuple[str, ...]:
        codes = FAULT_ERRORS
        if self.get_auth():
            codes = AUTHENTICATION_ERRORS + codes
        if self.method in ("POST", "PUT", "PATCH"):
            codes = BODY_ERRORS + codes
        return codes

    def _get_response_bodies(self, direction="response"):
        declared = self.get_response_serializers()
        errors: dict[int, tuple[str, ...]] = {}
        if isinstance(declared, dict):
            for status, response in declared.items():
                if isinstance(response, ErrorResponse):
                    errors[int(status)] = response.codes
                elif _is_error_serializer(response):
                    errors[int(status)] = DEFAULT_CODES[int(status)]
        for code in self._common_codes():
            status = ERROR_CODES[code][0]
            if code not in errors.get(status, ()):
                errors[status] = (*errors.get(status, ()), code)
        bodies = super()._get_response_bodies(direction)
        for status, codes in sorted(errors.items()):
            bodies[str(status)] = self._get_response_for_code(
                ErrorResponse(status, codes), str(status), direction=direction
            )
        return dict(sorted(bodies.items()))

    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        if not isinstance(serializer, ErrorResponse):
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        error = self.resolve_serializer(ErrorSerializer, direction).ref
        schema = {
            "allOf": [
                error,
                {
                    "type": "object",
                    "properties": {"code": {"type": "string", "enum": list(serializer.codes)}},
                },
            ]
        }
        # Errors are JSON whatever the operation's own answer is (a file, a PDF).
        response = super()._get_response_for_code(
            OpenApiResponse(response=schema, description=serializer.description),
            status_code,
            ["application/json"],
            direction,
        )
        if serializer.status in RETRY_AFTER:
            response["headers"] = {
                **response.get("headers", {}),
                "Retry-After": {
                    "schema": {"type": "integer", "minimum": 0},
                    "description": RETRY_AFTER[serializer.status],
                },
            }
        return response


def _is_error_serializer(response) -> bool:
    return response is ErrorSerializer or isinstance(response, ErrorSerializer)


def add_error_codes(result, generator, request, public):
    """Postprocessing hook: the table of error codes under the API's description."""
    rows = "\n".join(
        f"| `{code}` | {status} | {meaning} |" for code, (status, meaning) in ERROR_CODES.items()
    )
    result["info"]["description"] += (
        '\n\n## Errors\n\nEvery error is JSON `{"detail": "<human message>", "code": '
        '"<machine code>"}`, a 400 `invalid` with the fields\' own errors beside them; each '
        "operation lists the codes it may answer.\n\n| code | status | meaning |\n|---|---|---|\n"
        + rows
    )
    return result
