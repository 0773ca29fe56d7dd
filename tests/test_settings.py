"""Production settings refuse insecure defaults and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOOD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k3J9-vQz8_Lm2Rt7Wx4Yp6Nb1Hc5Df0Gs9Ua3Ie8Oo2Kq7Zr4Tv",
    "PII_ENCRYPTION_KEY": "a-production-pii-key-that-is-long-enough",
    "ALLOWED_HOSTS": "lending.example.com",
    "DATABASE_URL": "sqlite:////tmp/prod-check.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in GOOD_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_passes_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=GOOD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in GOOD_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_the_development_pii_key():
    env = {**GOOD_ENV, "PII_ENCRYPTION_KEY": "ZGV2LW9ubHktcGlpLWtleS1kby1ub3QtdXNlLTAwMDA="}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "PII_ENCRYPTION_KEY" in result.stderr
