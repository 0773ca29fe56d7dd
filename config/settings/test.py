"""pytest settings: the DATABASE_URL of the environment (SQLite by default)."""

from .base import *  # noqa: F401,F403
from .base import DEMO_APPS, INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + DEMO_APPS  # the demo and the benchmarks are tested too

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Test receivers listen on http://127.0.0.1; tests of the address rules turn these back on.
WEBHOOK_REQUIRE_HTTPS = False
WEBHOOK_ALLOW_PRIVATE_HOSTS = True
