"""The dependency rule of the design notes, kept by import-linter (contracts in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_dependency_contracts_are_kept():
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_is_reported(tmp_path):
    # The check can fail: a configuration that forbids what the code does is reported broken.
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    loans\n    scoring\n\n"
        "[importlinter:contract:loans-without-scoring]\nname = loans never imports scoring\n"
        "type = forbidden\nsource_modules =\n    loans\nforbidden_modules =\n    scoring\n"
    )
    result = _lint_imports("--config", str(config))
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
