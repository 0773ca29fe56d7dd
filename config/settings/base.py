"""Settings shared by every environment.

One ``environ.Env`` reads the process environment (and an optional ``.env`` file
at the project root).  Everything a deployment may change is read here with a
typed reader and a zero-setup default; ``production.py`` removes the defaults
that must never reach production.
"""

import warnings
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

# --- Core ---------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_TZ = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
USE_I18N = True

# --- Apps ---------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
]
LOCAL_APPS = [
    "loans",
    "loans.api",
    "scoring",
    "monitoring",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A view that cannot reach the database answers 503 + Retry-After (loans/api/unavailable.py).
    "loans.api.unavailable.DatabaseUnavailableMiddleware",
    # Serves the admin's and Swagger UI's assets under gunicorn (after collectstatic).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
def database_settings(url: str, *, conn_max_age: int = 0) -> dict:
    """The ``DATABASES`` of every environment, so that production runs with the options the
    benchmarks measured.  ``conn_max_age``: the environment's default for persistent
    connections; ``CONN_MAX_AGE`` (or ``?conn_max_age=`` in the URL) overrides it."""
    db = env.db_url_config(url)
    db["ATOMIC_REQUESTS"] = False
    db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=db.get("CONN_MAX_AGE", conn_max_age))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + a busy timeout let the dev server and an eager task share the file.
        db.setdefault("OPTIONS", {}).update(
            {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
        )
    elif env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # PostgreSQL: bind parameters on the server (psycopg 3) and let psycopg prepare a statement
        # once it has run 5 times on a connection.  With persistent connections (CONN_MAX_AGE) the
        # online path's statements are then parsed and planned once per connection rather than once
        # per request: that was most of PostgreSQL's CPU per partner application.  Turn it off
        # behind a connection pooler in transaction mode that cannot keep prepared statements.
        db.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
    return {"default": db}


# Zero-setup default: a SQLite file in the project.  Real deployments and CI set
# DATABASE_URL=postgres://...
DATABASES = database_settings(env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------
# Per-process memory by default; set CACHE_URL=rediscache://127.0.0.1:6379/1 so that every
# gunicorn worker shares one cache (the partner API's throttle counts live here).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Static -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the apps' static files straight from their folders (admin, Swagger UI),
# so gunicorn works without a collectstatic step; until one runs, STATIC_ROOT is empty, which
# WhiteNoise would otherwise warn about on every start.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at: .*staticfiles", category=UserWarning)

# --- Personal data ------------------------------------------------------------------------
# Resident IDs and phone numbers are encrypted at rest (AES-GCM) and looked up through a keyed
# hash, both with keys derived from this secret; production demands a strong one.
DEV_PII_ENCRYPTION_KEY = "ZGV2LW9ubHktcGlpLWtleS1kby1ub3QtdXNlLTAwMDA="
PII_ENCRYPTION_KEY = env.str("PII_ENCRYPTION_KEY", default=DEV_PII_ENCRYPTION_KEY)

# --- Ledger -------------------------------------------------------------------------------
# The ledger's chain is sealed with HMACs under keys derived (HKDF) from this secret, which the
# database does not hold; production demands a strong one (see config/settings/keys.py).
DEV_LEDGER_HMAC_KEY = "dev-only-ledger-hmac-key-do-not-use-in-production-00"
LEDGER_HMAC_KEY = env.str("LEDGER_HMAC_KEY", default=DEV_LEDGER_HMAC_KEY)
# The signed anchor (count, head seq, head hash) kept outside the database, so that entries cut
# from the tail are caught.  Empty: no anchor (development); production requires a path on
# storage that the database's administrators cannot write.
LEDGER_ANCHOR_PATH = env.str("LEDGER_ANCHOR_PATH", default="")

# --- Crash recovery -----------------------------------------------------------------------
# The longest a web request may run (gunicorn's --timeout kills a worker beyond it).  An
# idempotency key held by a request that died is taken over a few seconds after that.
REQUEST_TIMEOUT = env.int("REQUEST_TIMEOUT", default=30)
IDEMPOTENCY_LEASE_SECONDS = env.int("IDEMPOTENCY_LEASE_SECONDS", default=REQUEST_TIMEOUT + 5)
# A running nightly run (and the chunk in progress) renews its heartbeat this often; a run that
# missed two heartbeats (three intervals without one) is taken over by the next rescore.
NIGHTLY_HEARTBEAT_SECONDS = env.int("NIGHTLY_HEARTBEAT_SECONDS", default=30)
# With the database unreachable, the API and the admin answer 503 with this Retry-After.
DATABASE_UNAVAILABLE_RETRY_AFTER = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER", default=30)

# --- Celery -------------------------------------------------------------------------------
# No broker configured means no worker: tasks run in-process (eagerly), so the
# product works with zero setup.  Set CELERY_BROKER_URL=redis://... or amqp://...
# to dispatch to real workers.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
_default_backend = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_default_backend) or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 60 * 60 * 24
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=15 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=20 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "loans.api.schema.PartnerAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["loans.api.parsers.LimitedJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # The partner API: keys, one error shape, per-partner throttling, cursor pages.
    "DEFAULT_AUTHENTICATION_CLASSES": ["loans.api.authentication.PartnerAPIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["loans.api.authentication.IsPartner"],
    "DEFAULT_THROTTLE_CLASSES": ["loans.api.throttling.PartnerRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "loans.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "loans.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS answers 405 rather than describing views
}
# Requests per partner (all its keys together); counted in the default cache, so set
# CACHES to Redis in production for one count across gunicorn workers.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="1200/min")
# Largest JSON body the partner API parses; bigger is a 400 in the API's error shape.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# /api/schema/ and /api/docs/ open to anyone; when off, only to a partner's key or a staff login.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)
SPECTACULAR_SETTINGS = {
    "TITLE": "SME Lending Partner API",
    "DESCRIPTION": (
        "Partners register companies and their people, send credit data, submit applications and get "
        "decisions, draw down and repay, and receive signed webhooks.  Authenticate with "
        "`Authorization: Api-Key <key>`.  Every error has the shape "
        '`{"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}`.'
    ),
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "loans.choices.ApplicationStatus",
        "CompanyStatusEnum": "loans.choices.CompanyStatus",
        "CreditLineStatusEnum": "loans.choices.CreditLineStatus",
        "LoanStatusEnum": "loans.choices.LoanStatus",
        "WebhookDeliveryStatusEnum": "loans.api.models.WebhookDelivery.Status",
        "WebhookEventEnum": "loans.api.models.WebhookEvent",
    },
}

# --- Logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
