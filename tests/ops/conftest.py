import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The loan book's fixtures (a product, a company, an officer, a booked line) and the partner
# API's (a partner, its key, products, champions, a scored company).
from tests.api.conftest import (  # noqa: F401
    _fresh_throttle_counts,
    api,
    champions,
    partner,
    products,
    scored_company,
)
from tests.loans.conftest import company, make_line, officer, product  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set TEST_REDIS_URL=redis://127.0.0.1:6379/15 (CI does)")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"needs Redis at TEST_REDIS_URL={url}: {exc}")
    return url


def database_url() -> str:
    """The URL of the database the tests run on (pytest's test database), for subprocesses."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return "sqlite:////tmp/ops-tests-unused.sqlite3"


@pytest.fixture
def celery_worker(redis_url, tmp_path):
    """Start real ``celery -A config worker`` processes on the Redis broker (and pytest's
    database); all are SIGKILLed at the end.  ``start`` returns the process; its log is
    ``proc.log_path``."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    procs = []

    def start(name="w1"):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "LOG_LEVEL": "WARNING",
        }
        log_path = tmp_path / f"{name}.log"
        with log_path.open("w") as log:
            p = subprocess.Popen(
                [CELERY, "-A", "config", "worker", "-P", "solo", "-n", f"{name}@%h", "-l", "WARNING",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        p.log_path = log_path
        procs.append(p)
        return p

    def stop(p):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)

    yield start, stop
    for p in procs:
        stop(p)
    redis.Redis.from_url(redis_url).flushdb()


def company_body_with_phones(**overrides) -> dict:
    """A company registration whose people have distinct names, resident IDs and phones."""
    from tests.api.conftest import company_body, new_resident_id

    body = company_body(
        name="杭州样本科技有限公司",
        related_parties=[
            {
                "name": "欧阳慧敏",
                "id_number": new_resident_id(),
                "role": "legal_representative",
                "phone": "13912345678",
            },
            {
                "name": "司马长风",
                "id_number": new_resident_id(),
                "role": "shareholder",
                "ownership_pct": "60.00",
                "phone": "+86 158 0000 4321",
            },
        ],
    )
    body.update(overrides)
    return body


@pytest.fixture
def on_postgres():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)")
    return True
