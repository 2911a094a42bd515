"""Settings shared by every environment, read from the environment (SPEC §18)."""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")

DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://127.0.0.1:5432/dnc")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A streaming replica (hot standby) of that database: the register's heavy reads go there while
# it answers and lags at most REPLICA_MAX_LAG seconds (register/replica.py). Unset: one database.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # A replica that is gone is noticed in seconds, and its reads go to the primary.
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = 2
REPLICA_MAX_LAG = env.float("REPLICA_MAX_LAG", default=10.0)
# Each process keeps what every API request reads and hardly ever changes (a host's register, an
# API key, a campaign), emptied on every change by PostgreSQL's NOTIFY (register/hotcache.py).
HOT_CACHE = env.bool("HOT_CACHE", default=True)
# Off only where one process makes every change and sees it (the test suite's own process).
HOT_CACHE_LISTEN = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "dnc",
    }
}

INSTALLED_APPS = [
    "dashboard.apps.DashboardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "phonenumber_field",
    "django_countries",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "register",
    "licences",
    "campaigns",
    "uploads",
    "complaints",
    "billing",
]

MIDDLEWARE = [
    # /healthz, answered before anything reads the host or the database (config/health.py).
    "config.health.HealthMiddleware",
    # A 503 with Retry-After for a database, Redis or disk outage below it (config/outages.py).
    "config.outages.OutageMiddleware",
    # Under /api/, Django's own error answers (an unknown host's included) in the API's error
    # shape (config/errors.py): above RegisterMiddleware, below the outages' 503.
    "config.errors.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.headers.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "register.middleware.RegisterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "register.middleware.RegisterLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "licences.middleware.CurrentCompanyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# No inline script runs but the portal's own, each carrying the request's nonce. Styles may be
# inline (the admin's and the API docs' style attributes); everything else comes from the host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "register.context_processors.register",
                "licences.context_processors.company",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "licences:home"
# Logging in is allauth's, by e-mail address only (SPEC §3).
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]

# Accounts (django-allauth, SPEC §3, §6). A new address is confirmed with a code mailed to it and
# typed into the browser that signed up or logged in: whoever knows the password must also read
# the mailbox, so a stranger who signed up someone else's address first can never use the account
# (pre-takeover), and a mail scanner opening links confirms nothing.
ACCOUNT_ADAPTER = "licences.accounts.AccountAdapter"
ACCOUNT_FORMS = {
    "signup": "licences.forms.SignupForm",
    "login": "licences.forms.LoginForm",
    "reset_password_from_key": "licences.forms.SetPasswordForm",
}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# One address per account; a new one replaces it once confirmed.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Logged in until SESSION_COOKIE_AGE, as before allauth; no "remember me" box.
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
# allauth's limits, with failed logins tightened: after 10 failures for one account or from one
# client within 15 minutes every further attempt, with the right password too, is refused.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/15m/ip,10/15m/key", "signup": "10/h/ip"}
# Password reset links and the invitations' set-password links (Django's token, single use:
# setting the password invalidates it).
PASSWORD_RESET_TIMEOUT = 72 * 60 * 60
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Do-not-call register")
# Staff and superusers set up an authenticator (TOTP) before the admin opens.
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=False)

# Contact telephones (django-phonenumber-field): stored in E.164, shown internationally (SPEC §4).
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English")), ("fr", _("French")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date, time and number format per language, never month before day (config/formats).
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGE_COOKIE_NAME = "dnc_language"
USE_I18N = True
TIME_ZONE = "Europe/Amsterdam"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"
# /healthz reports the media volume's space as low under this many free bytes.
MEDIA_MIN_FREE_BYTES = env.int("MEDIA_MIN_FREE_BYTES", default=2 * 1024**3)

# Call files (SPEC §8.8): larger uploads are refused before they are stored.
CALL_FILE_MAX_BYTES = env.int("CALL_FILE_MAX_BYTES", default=200 * 1024 * 1024)
CALL_FILE_MAX_ROWS = env.int("CALL_FILE_MAX_ROWS", default=5_000_000)

# Registration files (SPEC §11): the rows one company may deliver per day, over all its files
# of that day in the register's time zone; a file that would pass it is refused whole.
REGISTRATION_ROWS_PER_DAY = env.int("REGISTRATION_ROWS_PER_DAY", default=10_000)

# The register answering on localhost and 127.0.0.1 (SPEC §3).
DEFAULT_REGISTER = env.str("DEFAULT_REGISTER", default="nl")

EMAIL_BACKEND = "register.mail.ConsoleAndFileBackend"
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=BASE_DIR / "var" / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@localhost")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# A task whose worker died (acks_late) goes back to the queue after this many seconds; the
# jobs' own claims make a redelivery of work still running elsewhere a no-op.
# kombu looks for such tasks every 10 s times the throttle (100 s by default).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=30 * 60),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
# Beat keeps its schedule in the database: nothing to write on disk (a fresh checkout or a
# read-only container starts as it is), and superusers see and pause the jobs in the admin.
# The entries below are written into it each time beat starts.
# The reaper (config/reaper.py, STYLE 16): every REAPER_INTERVAL_SECONDS it queues again the
# work queued longer than REAPER_QUEUED_AFTER_SECONDS ago that no worker has claimed (a lost
# message), the work RUNNING whose job lock is free (a dead worker), and undelivered documents.
REAPER_INTERVAL_SECONDS = env.int("REAPER_INTERVAL_SECONDS", default=60)
REAPER_QUEUED_AFTER_SECONDS = env.int("REAPER_QUEUED_AFTER_SECONDS", default=60)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Stuck work queued again, documents delivered (config/reaper.py); a pass not taken by a
    # worker before the next is due is dropped rather than piled up.
    "reaper": {
        "task": "config.reaper.reap",
        "schedule": float(REAPER_INTERVAL_SECONDS),
        "options": {"expire_seconds": REAPER_INTERVAL_SECONDS},
    },
    "purge-unconfirmed-blocks": {
        "task": "register.tasks.purge_unconfirmed_blocks",
        "schedule": crontab(minute=17),
    },
    # The statistics' rollup of the days that are over (register.statistics).
    "statistics-daily-counts": {
        "task": "register.tasks.daily_counts_roll_up_task",
        "schedule": crontab(minute=41),
    },
    "billing-renewals-and-notices": {
        "task": "billing.tasks.licences_renew_and_notify",
        "schedule": crontab(hour=6, minute=5),
    },
    "complaint-deadline-reminders": {
        "task": "complaints.tasks.deadline_reminders",
        "schedule": crontab(hour=6, minute=35),
    },
    "purge-call-files": {
        "task": "campaigns.tasks.call_files_purge",
        "schedule": crontab(hour=2, minute=25),
    },
    "purge-downloads": {
        "task": "campaigns.tasks.downloads_purge",
        "schedule": crontab(hour=2, minute=35),
    },
    "use-period-reminders": {
        "task": "campaigns.tasks.use_period_reminders",
        "schedule": crontab(hour=7, minute=15),
    },
    "expire-licences": {
        "task": "licences.tasks.expire_licences",
        "schedule": crontab(hour=1, minute=5),
    },
    "personal-data-minimise": {
        "task": "config.retention.personal_data_minimise",
        "schedule": crontab(hour=3, minute=15),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["licences.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "config.api.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.schema.ApiAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Do-not-call register API",
    "DESCRIPTION": (
        "Version 1. The register is chosen by the host name; authenticate with "
        "`Authorization: Bearer <key>` (a company API key of that register; "
        "`POST /api/v1/ivr/registrations` takes instead a staff key of the register's `ivr` "
        "role, made with `manage.py create_staff_api_key`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Served from our own static files: the docs work without any CDN (SPEC §16).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Each operation's error codes, and the table of them all on the docs page (config/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_error_codes",
    ],
    # Several resources have a `kind` or a `status`: each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "CaseKindEnum": "complaints.api.API_KINDS",
        "DownloadKindEnum": "campaigns.models.DownloadKind",
        "DownloadStatusEnum": "campaigns.models.DownloadStatus",
        "CallFileStatusEnum": "campaigns.marking.api.API_STATUSES",
        "CheckStatusEnum": "campaigns.verdicts.CheckStatus",
        "CheckReasonEnum": "campaigns.verdicts.CheckReason",
        "RegistrationFileStatusEnum": "uploads.models.FileStatus",
        "OrderStatusEnum": "billing.models.OrderStatus",
        "LicenceStatusEnum": "licences.models.LicenceStatus",
    },
    # `<int:…>` URLs match no minus sign: the schema must not offer negative ids either.
    "PATH_CONVERTER_OVERRIDES": {"int": {"type": "integer", "minimum": 0}},
}

# Payments (SPEC §12): the real mollie-api-python client; in development it talks to the fake
# Mollie of the Procfile, in production to Mollie itself with a live key.
MOLLIE_API_KEY = env.str("MOLLIE_API_KEY", default="test_dev0000000000000000000000000000")
MOLLIE_API_ENDPOINT = env.str("MOLLIE_API_ENDPOINT", default="")

# Mails sent by scheduled jobs have no request to take the host from: a register's portal URL is
# this template filled with its first host name.
PORTAL_BASE_URL_TEMPLATE = env.str("PORTAL_BASE_URL_TEMPLATE", default="https://{host}")

# The register's signature on certificates of consultation (SPEC §8.7): PEM files of the key and
# its certificate. Unset in development and tests: a key and a self-signed certificate are made in
# CERTIFICATE_SIGNING_DEV_DIR (production has none and requires both files).
CERTIFICATE_SIGNING_KEY = env.str("CERTIFICATE_SIGNING_KEY", default="")
CERTIFICATE_SIGNING_CERT = env.str("CERTIFICATE_SIGNING_CERT", default="")
CERTIFICATE_SIGNING_KEY_PASSWORD = env.str("CERTIFICATE_SIGNING_KEY_PASSWORD", default="")
CERTIFICATE_SIGNING_DEV_DIR = BASE_DIR / "var" / "signing"

# Rate limits per client address (SPEC §5, §17): consumer pages and the public complaint form;
# logins and sign-ups are limited by allauth (ACCOUNT_RATE_LIMITS above).
REGISTER_CHECK_RATE = env.str("REGISTER_CHECK_RATE", default="20/m")
REGISTER_BLOCK_RATE = env.str("REGISTER_BLOCK_RATE", default="10/h")
COMPLAINTS_PUBLIC_RATE = env.str("COMPLAINTS_PUBLIC_RATE", default="5/h")
# Where a violation report finds a company's scrubs and checks of a number (campaigns.evidence);
# a setting so that complaints needs no import of campaigns (STYLE: imports point down).
REPORT_EVIDENCE = "campaigns.evidence.number_evidence"
# Days a closed case keeps its attachments before config.retention erases them (issue #14).
CASE_ATTACHMENT_RETENTION_DAYS = env.int("CASE_ATTACHMENT_RETENTION_DAYS", default=365)
# Days a company's registration file and its report's numbers are kept after the legal term of
# 10 working days from delivery (config.retention).
REGISTRATION_FILE_KEPT_DAYS = env.int("REGISTRATION_FILE_KEPT_DAYS", default=30)
CERTIFICATE_VERIFY_RATE = env.str("CERTIFICATE_VERIFY_RATE", default="30/m")
RATELIMIT_USE_CACHE = "default"
# The number of proxies of ours in front of the application: 0 takes the socket's address and
# ignores X-Forwarded-For, 1 the address the one proxy saw (the header's last entry). Every rate
# limit and log line asks register.clientip.client_ip, django-ratelimit's `key="ip"` included.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
RATELIMIT_IP_META_KEY = "register.clientip.client_ip"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
