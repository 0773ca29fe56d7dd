"""The web and worker processes run on config/requirements/runtime.txt alone: loading the
project as they do never imports the training stack (pandas, scikit-learn, optbinning)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAINING_ONLY = ("pandas", "sklearn", "optbinning")

LOAD_LIKE_A_SERVER = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns                     # every view module the web process serves
import config.celery_app                        # the worker's app
from celery import current_app
current_app.loader.import_default_modules()     # every tasks module the worker loads
import scoring.api, scoring.batch, monitoring.services, loans.api.views
print("IMPORTED:" + ",".join(sorted(m for m in {TRAINING} if m in sys.modules)))
"""


def test_the_runtime_does_not_import_the_training_stack():
    code = LOAD_LIKE_A_SERVER.replace("{TRAINING}", repr(set(TRAINING_ONLY)))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    imported = [line for line in result.stdout.splitlines() if line.startswith("IMPORTED:")]
    assert imported == ["IMPORTED:"], f"the runtime imported the training stack: {imported}"


def test_the_runtime_requirements_leave_the_training_stack_out():
    runtime = (ROOT / "config/requirements/runtime.txt").read_text().lower()
    training = (ROOT / "config/requirements/training.txt").read_text().lower()
    for package in ("pandas", "scikit-learn", "optbinning"):
        assert f"\n{package}==" not in runtime
        assert f"\n{package}==" in training


# The web process as a server starts it: production settings, config.wsgi, every URL's view
# module, the worker's tasks.  Demo data and benchmarks (config.demo) are not part of it.
LOAD_THE_PRODUCTION_WEB_APP = """
import sys
from django.conf import settings
import config.wsgi                              # django.setup() under production settings
from django.apps import apps
from django.urls import get_resolver
get_resolver().url_patterns
import config.celery_app
from celery import current_app
current_app.loader.import_default_modules()
demo_modules = sorted(m for m in sys.modules if m == "config.demo" or m.startswith("config.demo."))
print("SETTINGS:" + settings.SETTINGS_MODULE)
print("DEMO_APP:" + str(apps.is_installed("config.demo") or "config.demo" in settings.INSTALLED_APPS))
print("DEMO_MODULES:" + ",".join(demo_modules))
print("COMMANDS:" + ",".join(sorted(__import__("django.core.management", fromlist=["x"]).get_commands())))
"""


def _run_under(env: dict, code: str) -> dict[str, str]:
    from tests.test_settings import clean_env

    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(env), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)


def test_the_production_web_app_leaves_the_demo_out():
    from tests.test_settings import GOOD_ENV

    out = _run_under(GOOD_ENV, LOAD_THE_PRODUCTION_WEB_APP)
    assert out["SETTINGS"] == "config.settings.production"
    assert out["DEMO_APP"] == "False"
    assert out["DEMO_MODULES"] == "", f"the web process imported demo code: {out['DEMO_MODULES']}"
    commands = out["COMMANDS"].split(",")
    assert "rescore" in commands  # the product's own commands are there ...
    assert not [c for c in commands if c.startswith(("bench_", "demo_")) or c in ("seed_demo", "simulate_day")]


def test_the_local_settings_install_the_demo():
    # The same probe can fail: under the settings `make run` uses, the demo and its commands are there.
    from tests.test_settings import GOOD_ENV

    env = {**GOOD_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    out = _run_under(env, LOAD_THE_PRODUCTION_WEB_APP.replace("import config.wsgi ", "import django; django.setup() "))
    assert out["DEMO_APP"] == "True"
    commands = out["COMMANDS"].split(",")
    assert {"seed_demo", "simulate_day", "demo_users", "demo_referrals", "demo_admin", "bench_rescore"} <= set(commands)


def test_the_demo_table_is_not_in_the_production_schema():
    # A production migrate (no demo app) ends without the demo's table; loans' old one is dropped.
    from tests.test_settings import GOOD_ENV

    db = Path("/tmp") / f"prod-schema-{os.getpid()}.sqlite3"
    db.unlink(missing_ok=True)
    env = {**GOOD_ENV, "DATABASE_URL": f"sqlite:///{db}"}
    try:
        code = (
            "import django; django.setup(); from django.core.management import call_command; "
            "call_command('migrate', verbosity=0); from django.db import connection; "
            "print('TABLES:' + ','.join(t for t in connection.introspection.table_names() if 'synthetic' in t))"
        )
        out = _run_under(env, code)
        assert out["TABLES"] == ""
    finally:
        db.unlink(missing_ok=True)


def test_a_demo_seeded_before_the_move_keeps_its_hidden_risk(tmp_path):
    # A developer's database seeded when SyntheticTruth lived in loans: migrating copies the rows
    # into the demo app's table (demo 0001 runs before loans 0015 drops the old one).
    from tests.test_settings import GOOD_ENV

    env = {**GOOD_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}"}
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        "from django.db import connection; "
        "call_command('migrate', 'loans', '0014', verbosity=0); "
        "c = connection.cursor(); "
        "c.execute(\"INSERT INTO loans_synthetictruth (subject_kind, subject_id, latent_risk) VALUES ('company', 7, 1.5), ('person', 9, -0.25)\"); "
        "call_command('migrate', verbosity=0); "
        "from config.demo.models import SyntheticTruth; "
        "print('ROWS:' + repr(sorted(SyntheticTruth.objects.values_list('subject_kind', 'subject_id', 'latent_risk')))); "
        "print('OLD:' + str('loans_synthetictruth' in connection.introspection.table_names()))"
    )
    out = _run_under(env, code)
    assert out["ROWS"] == "[('company', 7, 1.5), ('person', 9, -0.25)]"
    assert out["OLD"] == "False"
