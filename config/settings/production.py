"""Production: no insecure defaults.  Missing or weak secrets stop the process at start.

Everything else — the database options the benchmarks ran with included — comes from ``base``:
production is what was measured."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import DEV_LEDGER_HMAC_KEY, DEV_PII_ENCRYPTION_KEY, database_settings, env
from .keys import require_distinct_secrets, require_strong_secret

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # no default: raises ImproperlyConfigured when unset
PII_ENCRYPTION_KEY = require_strong_secret(
    "PII_ENCRYPTION_KEY", env.str("PII_ENCRYPTION_KEY"), development_values=(DEV_PII_ENCRYPTION_KEY,)
)
LEDGER_HMAC_KEY = require_strong_secret(
    "LEDGER_HMAC_KEY", env.str("LEDGER_HMAC_KEY"), development_values=(DEV_LEDGER_HMAC_KEY,)
)
LEDGER_ANCHOR_PATH = env.str("LEDGER_ANCHOR_PATH")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# The same builder as every other environment (prepared statements included), with persistent
# connections by default, as benchmarked.
DATABASES = database_settings(env.str("DATABASE_URL"), conn_max_age=60)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)

if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith(("dev-only", "django-insecure-")):
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters")
require_distinct_secrets(
    SECRET_KEY=SECRET_KEY, PII_ENCRYPTION_KEY=PII_ENCRYPTION_KEY, LEDGER_HMAC_KEY=LEDGER_HMAC_KEY
)

# --- Security (python manage.py check --deploy passes with no warnings) ----------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Operations (issue 16) --------------------------------------------------------------
# Staff in the roles of OTP_REQUIRED_GROUPS (and superusers) log in with an authenticator.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=True)
# Load balancers and Prometheus probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^ready/$", r"^metrics$"]
# /metrics by METRICS_BEARER_TOKEN only, unless networks are named: behind a reverse proxy on
# the same host every client would look like 127.0.0.1.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
