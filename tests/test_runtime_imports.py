"""The web and worker processes run on config/requirements/runtime.txt alone: loading the
project as they do never imports the training stack (pandas, scikit-learn, optbinning)."""

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
