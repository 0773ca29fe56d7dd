"""Settings shared by every environment.

One ``environ.Env`` reads the process environment (and an optional ``.env`` file
at the project root).  Everything a deployment may change is read here with a
typed reader and a zero-setup default; ``production.py`` removes the defaults
that must never reach production.
"""

import warnings
from datetime import timedelta
from pathlib import Path

import environ

from config.ops.logs import logging_config  # LOGGING's formatters; imports no models

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
# The project's catalogue (makemessages -l zh_Hans; the Makefile compiles it).
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
# Dates as the lists write them, 2026-12-02, in both languages (config/formats).
FORMAT_MODULE_PATH = ["config.formats"]

# --- Apps ---------------------------------------------------------------------------------
DJANGO_APPS = [
    # The admin's theme (django-unfold): before django.contrib.admin so its templates win and
    # its app replaces admin.site with its own site; every asset is served from its static files.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.simple_history",  # the change history pages in the theme
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
    "axes",
    # Operations (issue 16): staff two-factor login, Content Security Policy.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    # Change history (issue 16): who changed what and when (config/history).
    "simple_history",
]
LOCAL_APPS = [
    "config.backoffice",  # after the libraries: it re-registers their admins with guarded actions
    "loans.parties",  # the borrower files: before loans, which builds on them
    "loans",
    "loans.api",
    "scoring",
    "monitoring",
    "config.ops",
    "config.history",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS
# Demo data and benchmarks (seed_demo, simulate_day, bench_*, the demo logins and its one table):
# installed by the local and test settings, never by production's.
DEMO_APPS = ["config.demo"]

MIDDLEWARE = [
    # ops: outermost, so the request id, the access log's duration and the request metric
    # cover everything.
    "config.ops.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The partner API's URL-length and body-size limits, answered in its JSON error shape.
    "loans.api.middleware.ApiRequestLimitsMiddleware",
    # A view that cannot reach the database answers 503 + Retry-After (loans/api/unavailable.py).
    "loans.api.unavailable.DatabaseUnavailableMiddleware",
    # Serves the admin's and Swagger UI's assets under gunicorn (after collectstatic).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.ops.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The interface's language: the user's choice (the language switch) or the browser's.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # history: the admin user who makes a change is recorded in its history (config/history).
    "simple_history.middleware.HistoryRequestMiddleware",
    # ops: staff two-factor login (after authentication; messages tell why a session ended).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.ops.twofactor.AdminTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After CSPMiddleware: widens the policy on admin pages for the theme (see the module).
    "config.backoffice.csp.AdminThemePolicyMiddleware",
    # Last: turns django-axes' lock-out of an admin login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
                "django.template.context_processors.i18n",
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

# --- Client addresses ---------------------------------------------------------------------
# Reverse proxies in front of gunicorn that append to X-Forwarded-For (1 behind one nginx).
# With 0 the connecting address counts and X-Forwarded-For is ignored: a client could forge
# it.  Admin login lock-outs and the API's failed-key throttle count per client address.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# --- Admin login (django-axes) ------------------------------------------------------------
# After ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that
# username is locked from that address for ADMIN_LOGIN_COOLOFF_MINUTES; another failure
# while locked starts the wait again, a success resets the count.  Attempts are kept in the
# database (admin: Axes › Access attempts; deleting one unlocks, as does
# `manage.py axes_reset_username NAME`).
AXES_ENABLED = True
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.backoffice.net.client_address"
AXES_LOCKOUT_CALLABLE = "config.backoffice.lockout.locked_out"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

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
# Key rotation (README "Personal data"): new ciphertexts are sealed under PII_KEY_VERSION, whose
# key is derived (HKDF) from PII_ENCRYPTION_KEY; older versions stay readable while their masters
# are listed in PII_PREVIOUS_KEYS ("1:<old master>,..."), until `manage.py rotate_pii_key` has
# re-encrypted every row.  The lookup hash's key (PII_LOOKUP_KEY, default PII_ENCRYPTION_KEY)
# never rotates: the uniqueness of resident IDs depends on it.
PII_KEY_VERSION = env.int("PII_KEY_VERSION", default=1)
PII_PREVIOUS_KEYS = env.list("PII_PREVIOUS_KEYS", default=[])
PII_LOOKUP_KEY = env.str("PII_LOOKUP_KEY", default="")

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
# New credit data for a person rescores every company behind them: up to this many in the
# request, beyond on a worker (scoring.rescoring).
SCORING_INLINE_RESCORE_COMPANIES = env.int("SCORING_INLINE_RESCORE_COMPANIES", default=10)
# The score history (scoring.partitions): monthly partitions on PostgreSQL, created this many
# months ahead by the periodic job "score partitions ahead"; detailed rows kept for this many
# whole months before the current one, older months summarised per subject and model
# (MonthlyScoreSummary) and then detached by "score history retention" (and dropped, unless
# SCORE_HISTORY_DROP_DETACHED is off: then each stays as a plain table to archive and drop).
SCORE_PARTITIONS_AHEAD = env.int("SCORE_PARTITIONS_AHEAD", default=3)
SCORE_HISTORY_RETENTION_MONTHS = env.int("SCORE_HISTORY_RETENTION_MONTHS", default=24)
SCORE_HISTORY_DROP_DETACHED = env.bool("SCORE_HISTORY_DROP_DETACHED", default=True)
# Workers log through LOGGING below (JSON, request ids), not Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

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
    "NUM_PROXIES": NUM_PROXIES,
}
# Requests per partner (all its keys together); counted in the default cache, so set
# CACHES to Redis in production for one count across gunicorn workers.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="1200/min")
# After this many unusable API keys (unknown, malformed, wrong secret, revoked) from one client
# address within the window (seconds), every key from that address answers 429 until the
# window ends.  Counted in the default cache too.
API_KEY_FAILURE_LIMIT = env.int("API_KEY_FAILURE_LIMIT", default=20)
API_KEY_FAILURE_WINDOW = env.int("API_KEY_FAILURE_WINDOW", default=600)
# How far in the future (days, Shanghai dates) a repayment, drawdown, booking or credit-data
# date may lie: a sender whose clock or time zone is a little ahead is not refused.
VALUE_DATE_TOLERANCE_DAYS = env.int("VALUE_DATE_TOLERANCE_DAYS", default=1)
# Largest JSON body the partner API parses; bigger is a 400 in the API's error shape.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# Longest URL (path and query) the partner API reads; longer is a JSON 414.  gunicorn's own
# request-line limit (config/gunicorn.conf.py) must stay above it, or gunicorn answers in HTML.
API_MAX_URL_LENGTH = env.int("API_MAX_URL_LENGTH", default=4094)
# Partner webhooks go over https to public addresses only: a URL whose host is or resolves to a
# loopback, private, link-local … address is refused at registration and at every delivery
# (loans/api/webhook_addresses.py).  Local and test settings relax both for the quick-start's
# receiver on 127.0.0.1.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=True)
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)
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
# One JSON object per line (config/ops/logs.py), or LOG_FORMAT=plain for a developer's terminal.
# Personal data never reaches a line: see config/ops/logs.py and tests/ops/test_logs.py.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)

# ==========================================================================================
# Operations (issue 16, the ``ops`` app): health, metrics, logs, staff security, jobs.
# ==========================================================================================
# Our access log: one line per request (method, path without query string, status, duration,
# request id, partner or user).  Gunicorn's own access log stays off (see README).
ACCESS_LOG = env.bool("ACCESS_LOG", default=True)
# Successful probes are not logged (a load balancer asks every few seconds); failures are.
ACCESS_LOG_QUIET_PATHS = ["/health/", "/ready/", "/metrics"]

# /ready/: the last finished nightly run may be this old (0 switches the check off).
READY_NIGHTLY_RUN_MAX_AGE_HOURS = env.float("READY_NIGHTLY_RUN_MAX_AGE_HOURS", default=26)

# /metrics: open to everyone only where METRICS_PUBLIC (local settings); otherwise a bearer
# token (METRICS_BEARER_TOKEN) or a client address in METRICS_ALLOWED_NETWORKS.
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=False)
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# Dotted path to a callable -> (ok, checked_at) of the latest ledger verification, or None.
LEDGER_VERIFICATION_STATUS = env.str("LEDGER_VERIFICATION_STATUS", default="")

# Staff two-factor login (config/ops/twofactor.py): required where OTP_REQUIRED (production) for
# superusers and these groups.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=False)
OTP_REQUIRED_GROUPS = env.list(
    "OTP_REQUIRED_GROUPS", default=["Credit committee member", "Risk manager", "Administrator"]
)
OTP_TOTP_ISSUER = "SME Lending"

# Sessions end after this much inactivity: every request moves the expiry forward.
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Security headers (HSTS is in production.py: it needs HTTPS).
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
# Content Security Policy (django-csp): nothing inline, nothing from elsewhere.  The admin and
# Swagger UI (served split: its script is a file, see loans/api/urls.py) satisfy it; a theme
# that needs more (django-unfold) widens these lists here.  data: images: the admin's and
# Swagger UI's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Periodic jobs (config/ops/migrations/0002_periodic_jobs.py creates their schedules).
IDEMPOTENCY_RETENTION_HOURS = env.int("IDEMPOTENCY_RETENTION_HOURS", default=48)

# ==========================================================================================
# The admin's theme (django-unfold, issue 14): titles, colours, the navigation.
# ==========================================================================================
UNFOLD = {
    "SITE_TITLE": "SME Lending",
    "SITE_HEADER": "SME Lending",
    "SITE_SUBHEADER": "config.backoffice.navigation.site_subheader",
    "SITE_URL": "/admin/",
    "SITE_SYMBOL": "account_balance",
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": "config.backoffice.navigation.favicon"}],
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "ENVIRONMENT": "config.backoffice.navigation.environment",
    "STYLES": ["config.backoffice.navigation.stylesheet"],
    "COLORS": {
        # A calm blue for a bank's back office.
        "primary": {
            "50": "239 246 255", "100": "219 234 254", "200": "191 219 254", "300": "147 197 253",
            "400": "96 165 250", "500": "59 130 246", "600": "37 99 235", "700": "29 78 216",
            "800": "30 64 175", "900": "30 58 138", "950": "23 37 84",
        },
    },
    # The user menu (top right): two-factor set-up, next to the language and password links.
    "ACCOUNT": {"navigation": "config.backoffice.navigation.account_links"},
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        # Grouped by how staff work; built from config/backoffice/navigation.py's declaration,
        # which skips models that are not installed and files new ones under "Other".
        "navigation": "config.backoffice.navigation.sidebar",
    },
}

# Change history (config/history): a historical version is shown, never reverted from the admin.
SIMPLE_HISTORY_REVERT_DISABLED = True

# The credit committee's rules (quorum, majority, due time) live in the versioned credit policy.
