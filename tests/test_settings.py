"""Production settings refuse insecure defaults and weak secrets, pass Django's deployment
checks, and are what was benchmarked; servers and workers never fall back to debug."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k3J9-vQz8_Lm2Rt7Wx4Yp6Nb1Hc5Df0Gs9Ua3Ie8Oo2Kq7Zr4Tv",
    "PII_ENCRYPTION_KEY": "q8Ww3ZBcdhk1v2L5JtOu3G0yq9P5m1Rz0Xn7aTfE4sU",
    "LEDGER_HMAC_KEY": "Fz6cM2nqT0hV9Lb4RwY7pK1dJx3Ge8Ua5Ni2Qo6Ss9D",
    "LEDGER_ANCHOR_PATH": "/tmp/prod-check-ledger-anchor.json",
    "ALLOWED_HOSTS": "lending.example.com",
    "DATABASE_URL": "sqlite:////tmp/prod-check.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}
# Everything the tests' own environment might set that would change what is checked here.
ISOLATE = set(GOOD_ENV) | {"CONN_MAX_AGE", "DATABASE_PREPARED_STATEMENTS", "API_DOCS_PUBLIC", "DEBUG"}


def clean_env(env):
    base = {k: v for k, v in os.environ.items() if k not in ISOLATE}
    return {**base, **env}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean_env(env), capture_output=True, text=True, timeout=120
    )


def python(code, *, env):
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean_env(env), capture_output=True, text=True, timeout=120
    )


SHOW_SETTINGS = (
    "import json, django; {imports}django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; print(json.dumps({{'module': s.SETTINGS_MODULE, 'debug': s.DEBUG, "
    "'options': d.get('OPTIONS', {{}}), 'conn_max_age': d.get('CONN_MAX_AGE'), 'docs_public': s.API_DOCS_PUBLIC}}))"
)


def show_settings(env, imports=""):
    result = python(SHOW_SETTINGS.format(imports=imports), env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_passes_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=GOOD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("name", ["SECRET_KEY", "PII_ENCRYPTION_KEY", "LEDGER_HMAC_KEY", "LEDGER_ANCHOR_PATH"])
def test_production_refuses_to_start_without_a_secret(name):
    env = {k: v for k, v in GOOD_ENV.items() if k != name}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.parametrize(
    "name, value",
    [
        ("PII_ENCRYPTION_KEY", "ZGV2LW9ubHktcGlpLWtleS1kby1ub3QtdXNlLTAwMDA="),  # the development key
        ("PII_ENCRYPTION_KEY", "x"),
        ("PII_ENCRYPTION_KEY", "a" * 64),  # long, but one character
        ("PII_ENCRYPTION_KEY", "abab" * 16),  # long, two characters
        ("PII_ENCRYPTION_KEY", "Tr0ub4dor&3"),  # a person's idea of strong
        ("LEDGER_HMAC_KEY", "dev-only-ledger-hmac-key-do-not-use-in-production-00"),
        ("LEDGER_HMAC_KEY", "ledger"),
        ("LEDGER_HMAC_KEY", GOOD_ENV["PII_ENCRYPTION_KEY"]),  # one secret for two purposes
    ],
)
def test_production_refuses_a_weak_or_reused_key(name, value):
    result = manage("check", env={**GOOD_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr and "ImproperlyConfigured" in result.stderr


def test_production_runs_with_the_database_options_that_were_benchmarked():
    # given one PostgreSQL URL (no connection is made)
    url = {"DATABASE_URL": "postgres://app@db.internal:5432/lending"}
    # when
    production = show_settings({**GOOD_ENV, **url})
    local = show_settings({**url, "DJANGO_SETTINGS_MODULE": "config.settings.local"})
    # then: the same prepared-statement options, and persistent connections
    assert production["options"] == local["options"] == {"server_side_binding": True, "prepare_threshold": 5}
    assert production["conn_max_age"] == 60
    assert show_settings({**GOOD_ENV, **url, "CONN_MAX_AGE": "600"})["conn_max_age"] == 600
    assert show_settings({**GOOD_ENV, **url, "DATABASE_PREPARED_STATEMENTS": "false"})["options"] == {}


def test_production_keeps_the_api_docs_private_by_default():
    assert show_settings(GOOD_ENV)["docs_public"] is False
    assert show_settings({**GOOD_ENV, "API_DOCS_PUBLIC": "true"})["docs_public"] is True
    assert show_settings({"DJANGO_SETTINGS_MODULE": "config.settings.local"})["docs_public"] is True


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery_app"])
def test_servers_and_workers_without_a_settings_module_run_production_not_debug(module):
    # with the production secrets present: production settings, DEBUG off
    env = {k: v for k, v in GOOD_ENV.items() if k != "DJANGO_SETTINGS_MODULE"}
    shown = show_settings(env, imports=f"import {module}; ")
    assert (shown["module"], shown["debug"]) == ("config.settings.production", False)
    # without them: refused, never a debug server
    bare = python(f"import {module}; from django.conf import settings; print(settings.DEBUG)", env={})
    assert bare.returncode != 0 and "ImproperlyConfigured" in bare.stderr


def test_manage_py_and_the_make_targets_name_their_settings():
    # manage.py stays local for developers (make run, the bench commands)
    shell = manage("shell", "-c", "from django.conf import settings as s; print(s.SETTINGS_MODULE, s.DEBUG)", env={})
    assert shell.stdout.strip().splitlines()[-1].split() == ["config.settings.local", "True"], shell.stderr
    # make worker / make beat start Celery (production by default) with local settings unless told
    dry = subprocess.run(["make", "-n", "worker", "beat"], cwd=ROOT, env=clean_env({}), capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    lines = [line for line in dry.stdout.splitlines() if "celery" in line]
    assert len(lines) == 2 and all(line.startswith("DJANGO_SETTINGS_MODULE=config.settings.local ") for line in lines)
    told = subprocess.run(["make", "-n", "worker"], cwd=ROOT, capture_output=True, text=True,
                          env=clean_env({"DJANGO_SETTINGS_MODULE": "config.settings.production"}))
    assert "DJANGO_SETTINGS_MODULE=config.settings.production " in told.stdout
