"""Settings for Provisioning Portal, read from the environment through django-environ.

Every setting has a safe development default so ``make run`` works on a bare machine. With
``DEBUG`` off the portal refuses to start without a real ``SECRET_KEY`` and
``FIELD_ENCRYPTION_KEYS``: development keys are generated under ``var/`` only while debugging.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)


def _development_secret(filename: str, generate) -> str:
    """Read a development-only secret from var/, generating it on first use."""
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


def _generate_django_key() -> str:
    from django.core.management.utils import get_random_secret_key

    return get_random_secret_key()


def _generate_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


if "SECRET_KEY" in env:
    SECRET_KEY = env.str("SECRET_KEY")
elif DEBUG:
    SECRET_KEY = _development_secret("secret.key", _generate_django_key)
else:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

# Comma-separated Fernet keys. The first encrypts; all decrypt, so a new key can be put first and
# the old ones kept until `manage.py rotate_encryption_keys` has re-encrypted every secret.
if "FIELD_ENCRYPTION_KEYS" in env:
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
elif DEBUG:
    FIELD_ENCRYPTION_KEYS = [_development_secret("field-encryption.key", _generate_fernet_key)]
else:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must name at least one key.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "provisioning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Django's test database, one per test process: two runs on one machine (a developer's and
    # CI's, or a run and the worker processes an interrupted run left behind) never meet.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a lock instead of failing at once when the worker and the web process both write.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # A file, not memory, so tests can share their database with worker and server processes.
    # One per test process, so parallel runs on a machine never share (or delete) each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-database-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hant", _("Traditional Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# E-mail: EMAIL_URL such as smtp://user:password@host:587 or smtp+tls://...; by default the
# messages are written as files under var/mail so nothing leaves a development machine.
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="provisioning-portal@localhost")

# Links in notification e-mails point here.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Celery: Redis in production; kombu's filesystem transport under var/ when nothing is configured,
# so the worker and beat run on a bare machine (`scripts/run_portal.py` picks Redis when reachable).
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=env.str("REDIS_URL", default="filesystem://")
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Tests give each run its own queue, so parallel runs on one Redis never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE

# Scheduling (DESIGN §5): the dispatcher claims due jobs; the watcher brings cycles forward when
# the directory changes (B3); a cycle's lease is renewed as it goes and expires if its worker dies.
PROVISIONING_DISPATCH_SECONDS = env.float("PROVISIONING_DISPATCH_SECONDS", default=60.0)
PROVISIONING_WATCH_SECONDS = env.float("PROVISIONING_WATCH_SECONDS", default=5.0)
PROVISIONING_DEBOUNCE_SECONDS = env.float("PROVISIONING_DEBOUNCE_SECONDS", default=2.0)
PROVISIONING_LEASE_SECONDS = env.int("PROVISIONING_LEASE_SECONDS", default=300)
# Seconds in one minute of a job's interval: 60, except in tests that need short intervals.
PROVISIONING_MINUTE_SECONDS = env.float("PROVISIONING_MINUTE_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-provisioning-jobs": {
        "task": "provisioning.tasks.dispatch_due_jobs",
        "schedule": PROVISIONING_DISPATCH_SECONDS,
    },
    "watch-directory-changes": {
        "task": "provisioning.tasks.watch_directory_changes",
        "schedule": PROVISIONING_WATCH_SECONDS,
    },
    "purge-provisioning-logs-daily": {
        "task": "provisioning.tasks.purge_provisioning_logs",
        "schedule": crontab(hour=3, minute=17),
    },
}

# Provisioning defaults.
PROVISIONING_LOG_RETENTION_DAYS = env.int("PROVISIONING_LOG_RETENTION_DAYS", default=30)
PROVISIONING_DEFAULT_INTERVAL_MINUTES = env.int("PROVISIONING_DEFAULT_INTERVAL_MINUTES", default=20)
DIRECTORY_RECYCLE_BIN_DAYS = 30

# GoTo (Citrix GoToMeeting) API: OAuth token endpoint, Admin API and the OAuth client the portal
# is registered as with GoTo (the admin's user name and password come from the job's credentials).
GOTO_OAUTH_TOKEN_URL = env.str(
    "GOTO_OAUTH_TOKEN_URL", default="https://api.getgo.com/oauth/v2/token"
)
GOTO_ADMIN_API_URL = env.str("GOTO_ADMIN_API_URL", default="https://api.getgo.com/admin/rest/v1")
GOTO_CLIENT_ID = env.str("GOTO_CLIENT_ID", default="")
GOTO_CLIENT_SECRET = env.str("GOTO_CLIENT_SECRET", default="")
GOTO_REQUESTS_PER_SECOND = env.float("GOTO_REQUESTS_PER_SECOND", default=10.0)

# The local demo target that `make run` starts (scim2-server) and `seed_demo` points at.
DEMO_SCIM_URL = env.str("DEMO_SCIM_URL", default="http://127.0.0.1:8081/v2")
DEMO_SCIM_TOKEN = env.str("DEMO_SCIM_TOKEN", default="demo-scim-token")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# Logins that `seed_demo` creates for a development portal (never with DEBUG off unless forced).
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="admin-demo-password")
DEMO_AUDITOR_PASSWORD = env.str("DEMO_AUDITOR_PASSWORD", default="auditor-demo-password")

# The REST API under /api/v1/ (issue 14): bearer API tokens or the browser's session (with CSRF),
# the portal's roles, one error shape, cursor pagination, per-token throttling, OpenAPI 3.
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/minute")
API_ANONYMOUS_THROTTLE_RATE = env.str("API_ANONYMOUS_THROTTLE_RATE", default="60/minute")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "provisioning.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["provisioning.api.permissions.PortalRole"],
    "DEFAULT_THROTTLE_CLASSES": ["provisioning.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": API_THROTTLE_RATE,
        "api_anonymous": API_ANONYMOUS_THROTTLE_RATE,
    },
    "DEFAULT_PAGINATION_CLASS": "provisioning.api.pagination.NewestFirstCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "provisioning.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "provisioning.api.schema.PortalAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Provisioning Portal API",
    "DESCRIPTION": "Applications, their provisioning jobs, logs, audit events and the directory "
    "(shaped after Microsoft Graph's synchronization API). See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "provisioning.choices.JobState",
        "CycleStateEnum": "provisioning.choices.CycleState",
        "LogStatusEnum": "provisioning.choices.LogStatus",
        "ObjectTypeEnum": "provisioning.choices.ObjectType",
        "ProvisioningStatusEnum": ["On", "Off"],
    },
}
