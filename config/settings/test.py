"""Tests: the real PostgreSQL and Redis, fast hashing, mail kept in memory."""

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, env

DEBUG = False
SECRET_KEY = "test-only-not-secret"  # noqa: S105
ALLOWED_HOSTS = [".localhost", "localhost", "127.0.0.1", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES["default"]["LOCATION"] = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/9")
CELERY_BROKER_URL = CACHES["default"]["LOCATION"]
# Lets several checkouts or runs share one PostgreSQL without dropping each other's test database.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_dnc")}
if "replica" in DATABASES:
    # The replica is the test database itself: tests read what they wrote, in their transaction.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
