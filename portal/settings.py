"""Settings for Provisioning Portal, read from the environment through django-environ.

Every setting has a safe development default so ``make run`` works on a bare machine. With
``DEBUG`` off the portal refuses to start without a real ``SECRET_KEY`` and
``FIELD_ENCRYPTION_KEYS``: development keys are generated under ``var/`` only while debugging.
"""

import ipaddress
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def secret_env(name: str, default: str = "") -> str:
    """A secret exactly as set: django-environ reads a value starting with ``$`` as the name of
    another variable, and Django's own key generator uses ``$`` (1 key in ~50 starts with it)."""
    return os.environ.get(name, default)


VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)
# With DEBUG on, show Django's technical 404/500 pages instead of the portal's own.
DEBUG_ERROR_PAGES = env.bool("DEBUG_ERROR_PAGES", default=False)


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
    SECRET_KEY = secret_env("SECRET_KEY")
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


def _validate_fernet_keys(keys: list[str]) -> None:
    """Refuse at start a key that is not a Fernet key (e.g. "abc"), naming the setting."""
    from cryptography.fernet import Fernet

    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must name at least one key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key number {position} is not a valid Fernet key "
                "(44 characters of url-safe base64, as made by Fernet.generate_key())."
            ) from None


_validate_fernet_keys(FIELD_ENCRYPTION_KEYS)

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
    # The portal's 404/500 pages even with DEBUG on (portal/error_pages.py).
    "portal.error_pages.PortalErrorPagesMiddleware",
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
# One date format per language across the portal (portal/formats/<locale>/formats.py).
FORMAT_MODULE_PATH = ["portal.formats"]
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
    "purge-deleted-directory-objects-daily": {
        "task": "provisioning.tasks.purge_deleted_directory_objects",
        "schedule": crontab(hour=3, minute=41),
    },
}

# Provisioning defaults.
PROVISIONING_LOG_RETENTION_DAYS = env.int("PROVISIONING_LOG_RETENTION_DAYS", default=30)
PROVISIONING_DEFAULT_INTERVAL_MINUTES = env.int("PROVISIONING_DEFAULT_INTERVAL_MINUTES", default=20)
DIRECTORY_RECYCLE_BIN_DAYS = 30

# GoTo (Citrix GoToMeeting) API: OAuth token and authorization endpoints, Admin API and the OAuth
# client the portal is registered as with GoTo (each job's grant is in the job's credentials).
GOTO_OAUTH_TOKEN_URL = env.str(
    "GOTO_OAUTH_TOKEN_URL", default="https://authentication.logmeininc.com/oauth/token"
)
GOTO_OAUTH_AUTHORIZE_URL = env.str(
    "GOTO_OAUTH_AUTHORIZE_URL", default="https://authentication.logmeininc.com/oauth/authorize"
)
GOTO_ADMIN_API_URL = env.str("GOTO_ADMIN_API_URL", default="https://api.getgo.com/admin/rest/v1")
GOTO_CLIENT_ID = env.str("GOTO_CLIENT_ID", default="")
GOTO_CLIENT_SECRET = secret_env("GOTO_CLIENT_SECRET")
GOTO_REQUESTS_PER_SECOND = env.float("GOTO_REQUESTS_PER_SECOND", default=10.0)

# The local demo target that `make run` starts (scim2-server) and `seed_demo` points at.
DEMO_SCIM_URL = env.str("DEMO_SCIM_URL", default="http://127.0.0.1:8081/v2")
DEMO_SCIM_TOKEN = secret_env("DEMO_SCIM_TOKEN", "demo-scim-token")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handler on "django" would print each record a second time
        # beside the root's (every 403 twice with DEBUG on): records propagate to the root only.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# Logins that `seed_demo` creates for a development portal (never with DEBUG off unless forced).
DEMO_ADMIN_PASSWORD = secret_env("DEMO_ADMIN_PASSWORD", "admin-demo-password")
DEMO_AUDITOR_PASSWORD = secret_env("DEMO_AUDITOR_PASSWORD", "auditor-demo-password")

# -- Security hardening (issue 12) ---------------------------------------------------------------
# Outbound requests to targets (provisioning/security/outbound.py): only public addresses, plus
# these networks. Development: loopback, so `make run`'s demo targets and the tests work.
PROVISIONING_ALLOWED_TARGET_NETWORKS = env.list(
    "PROVISIONING_ALLOWED_TARGET_NETWORKS",
    default=["127.0.0.0/8", "::1/128"] if DEBUG else [],
)
for _network in PROVISIONING_ALLOWED_TARGET_NETWORKS:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"PROVISIONING_ALLOWED_TARGET_NETWORKS: {_network!r} is not a network (e.g. 10.0.0.0/8)."
        ) from None
# A target's answer larger than this is refused unread.
PROVISIONING_MAX_RESPONSE_BYTES = env.int("PROVISIONING_MAX_RESPONSE_BYTES", default=10 * 1024**2)

# Sign-in throttling (django-axes): failed sign-ins are counted per user name and per address;
# past the limit, that user name or address is locked out for the cool-off time.
INSTALLED_APPS += ["axes", "csp"]
AUTHENTICATION_BACKENDS = [
    "provisioning.security.signin.ThrottledSignInBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("SIGNIN_LOCKOUT_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "provisioning.security.signin.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Behind a reverse proxy, set AXES_IPWARE_PROXY_COUNT=1 (and SECURE_PROXY_SSL_HEADER) so the
# client's address, not the proxy's, is counted.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0) or None

# Static files: WhiteNoise serves them from STATIC_ROOT (compressed, content-hashed names) when
# DEBUG is off, so gunicorn alone serves complete pages.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(STATIC_ROOT)))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG  # development: straight from static/, no collectstatic needed
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
if not DEBUG:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# Content-Security-Policy (django-csp): no inline script anywhere (htmx is configured by a
# <meta name="htmx-config"> without eval or injected styles), nothing from other origins.
MIDDLEWARE += ["csp.middleware.CSPMiddleware"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# First: /healthz and /readyz answer whatever the Host header and scheme (health checks).
MIDDLEWARE.insert(0, "provisioning.security.health.health_endpoints_middleware")
# Last, as django-axes asks: it answers a locked-out sign-in before the view runs.
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]

# Response headers and cookies in production (`manage.py check --deploy` is clean with these).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    # HSTS: browsers remember to use HTTPS only; sent on HTTPS responses only.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Health checks come from the orchestrator over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_HTTPONLY = True
if env.str("SECURE_PROXY_SSL_HEADER", default=""):
    # e.g. HTTP_X_FORWARDED_PROTO when a TLS-terminating proxy sets X-Forwarded-Proto: https.
    SECURE_PROXY_SSL_HEADER = (env.str("SECURE_PROXY_SSL_HEADER"), "https")

# OpenID Connect sign-in (mozilla-django-oidc), on when OIDC_RP_CLIENT_ID is set. The group claim
# decides the role: a group of OIDC_ADMINISTRATOR_GROUPS → Provisioning administrators, of
# OIDC_AUDITOR_GROUPS → Auditors, neither → no access. Local accounts keep working.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = secret_env("OIDC_RP_CLIENT_SECRET")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile groups")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_ADMINISTRATOR_GROUPS = env.list("OIDC_ADMINISTRATOR_GROUPS", default=[])
OIDC_AUDITOR_GROUPS = env.list("OIDC_AUDITOR_GROUPS", default=[])
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = 10
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?oidc=refused"
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS += ["provisioning.security.oidc.PortalOIDCBackend"]
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
