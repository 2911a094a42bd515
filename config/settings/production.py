"""Production: every secret from the environment, no defaults; HTTPS only."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env


def required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


DEBUG = False
SECRET_KEY = required("SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
MOLLIE_API_KEY = required("MOLLIE_API_KEY")
CERTIFICATE_SIGNING_KEY = required("CERTIFICATE_SIGNING_KEY")
CERTIFICATE_SIGNING_CERT = required("CERTIFICATE_SIGNING_CERT")
CERTIFICATE_SIGNING_DEV_DIR = None
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=True)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
# A mail server that hangs holds a request or the reaper no longer than this; the mail waits in
# the outbox (register/mail.py).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
