"""Response headers the security middleware of Django and django-csp do not set."""

# The portal uses none of these browser features; a page that was made to would be refused.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    """`Permissions-Policy` on every answer; `Cache-Control: no-store` on API data and on every
    file handed out (a marked call file, a copy of the register, an invoice): personal and
    licensed data stays out of shared and browser caches."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if request.path.startswith("/api/") or response.has_header("Content-Disposition"):
            response["Cache-Control"] = "no-store"
        return response
