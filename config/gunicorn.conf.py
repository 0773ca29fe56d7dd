"""Gunicorn configuration:  gunicorn -c config/gunicorn.conf.py config.wsgi

Settings are grouped in blocks by purpose; command-line flags (-w, -b) still override them.
"""

import os
import shutil
import tempfile

# ==========================================================================================
# Operations (issue 16): Prometheus metrics across workers, logs in our format.
# ==========================================================================================

# Prometheus multiprocess mode: each worker writes its counters (HTTP requests, decisions) to
# files in this directory and /metrics sums them, whichever worker answers the scrape.  Set
# here, in the master, so every worker inherits it before prometheus_client is imported.
PROMETHEUS_MULTIPROC_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "sme-lending-prometheus")
)


def on_starting(server):
    """Counts of a previous master's workers would be summed in: start from an empty directory."""
    shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
    os.makedirs(PROMETHEUS_MULTIPROC_DIR, exist_ok=True)


def child_exit(server, worker):
    """A dead worker's live gauges must not be summed any more (its counters still are)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# The application writes one access-log line per request itself (config.ops.middleware: request id,
# partner or user, duration, path without its query string), so gunicorn's access log, which
# would print query strings, stays off.
accesslog = None
# Gunicorn's own messages (start, worker boot, timeouts) in the same format as the app's.
_LOG_FORMATTER = (
    "config.ops.logs.PlainFormatter"
    if os.environ.get("LOG_FORMAT") == "plain"
    else "config.ops.logs.JsonFormatter"
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": False,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": False,
            "qualname": "gunicorn.access",
        },
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "ops",
            "stream": "ext://sys.stderr",
        },
    },
    "formatters": {"ops": {"()": _LOG_FORMATTER}},
}


# ==========================================================================================
# Request limits (issue 11): over-long API URLs are answered by the API in JSON.
# ==========================================================================================

# gunicorn refuses a request line longer than ``limit_request_line`` itself, with an HTML page,
# before Django sees it.  The API answers over-long URLs with a JSON 414 of its own
# (``API_MAX_URL_LENGTH``, 4094 by default, in loans/api/middleware.py), so gunicorn's limit is
# raised to its largest bounded value, 8190 bytes, to let those requests through to Django.
# (0 would mean unlimited: gunicorn would then buffer request lines of any length.)  A request
# line over 8190 bytes still gets gunicorn's HTML 414.
limit_request_line = 8190
