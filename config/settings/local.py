"""Development: `make run` on nl.localhost and be.localhost."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-not-secret-1b3c6f0a9d6e4b7e8c2a5d9f")
ALLOWED_HOSTS = [".localhost", "localhost", "127.0.0.1", "[::1]"]
FAKE_MOLLIE_PORT = env.int("FAKE_MOLLIE_PORT", default=8765)
MOLLIE_API_ENDPOINT = env.str("MOLLIE_API_ENDPOINT", default=f"http://127.0.0.1:{FAKE_MOLLIE_PORT}")
PORTAL_BASE_URL_TEMPLATE = env.str(
    "PORTAL_BASE_URL_TEMPLATE", default=f"http://{{host}}:{env.int('WEB_PORT', default=8000)}"
)
