"""The dependency rule of the design notes, kept by import-linter (contracts in pyproject.toml)."""

import pkgutil
import subprocess
import sys
import tomllib
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


def _contract(name_starts: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (found,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"].startswith(name_starts)]
    return found


def test_scoring_is_kept_from_every_module_of_loans_but_the_borrower_files():
    # The contract names loans' modules one by one (it cannot say "all but loans.parties"): a
    # module added to loans later must be named too, or scoring could import it unseen.
    forbidden = set(_contract("scoring knows borrowers only through loans.parties")["forbidden_modules"])
    modules = {f"loans.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "loans")])}
    assert "loans.parties" in modules and "loans.models" in modules
    assert forbidden == modules - {"loans.parties"}


def test_the_borrower_files_may_import_nothing_else_of_loans():
    contract = _contract("the borrower files stand alone")
    assert contract["source_modules"] == ["loans.parties"]
    assert {"loans.*", "scoring", "monitoring"} <= set(contract["forbidden_modules"])
    assert not contract.get("ignore_imports") and not contract.get("allow_indirect_imports")
