"""Developer machine: debug on, zero-setup defaults from base."""

from .base import *  # noqa: F401,F403
from .base import DEMO_APPS, INSTALLED_APPS, LOG_LEVEL, env, logging_config

INSTALLED_APPS = INSTALLED_APPS + DEMO_APPS  # `make run` seeds the demo

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "0.0.0.0"])
# The quick-start's webhook receiver listens on http://127.0.0.1:9000.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=False)
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=True)

# Developers read plain text and may look at /metrics without a token.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=True)
