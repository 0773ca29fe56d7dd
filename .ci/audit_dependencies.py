"""Supply-chain check: pip-audit over the virtualenv built from the pinned requirements files
(so the pinned packages and everything they pull in).

Exit 1 when a known vulnerability is found.  When the advisory service cannot be asked — no
network, or a package index that does not serve PyPI's per-release JSON where the advisories
live — pip-audit reports every package as "not found" and would print "No known
vulnerabilities found"; this script says plainly that nothing was audited instead, and exits 0
unless PIP_AUDIT_REQUIRED=1 (then 2).  It never waits longer than PIP_AUDIT_TIMEOUT seconds.

    .venv/bin/python .ci/audit_dependencies.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
TOTAL_TIMEOUT = int(os.environ.get("PIP_AUDIT_TIMEOUT", "300"))
REQUIRED = os.environ.get("PIP_AUDIT_REQUIRED") == "1"


def not_audited(reason: str) -> int:
    print(f"pip-audit: NOT AUDITED — {reason}")
    print(
        "pip-audit: no vulnerability data was checked; run it where PyPI's advisory API is reachable."
    )
    return 2 if REQUIRED else 0


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        cmd = [
            str(VENV_BIN / "pip-audit"),
            "--progress-spinner",
            "off",
            "--timeout",
            "20",
            "--format",
            "json",
            "--output",
            str(report),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TOTAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            return not_audited(f"pip-audit did not finish within {TOTAL_TIMEOUT} s")
        if not report.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return not_audited("pip-audit failed: " + " | ".join(tail))
        deps = json.loads(report.read_text())["dependencies"]
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    print(
        f"pip-audit: {len(audited)} of {len(deps)} installed packages checked against the advisories"
    )
    for d in vulnerable:
        for v in d["vulns"]:
            fixed = ", ".join(v.get("fix_versions") or []) or "no fix yet"
            print(f"  VULNERABLE {d['name']} {d['version']}: {v['id']} (fixed in: {fixed})")
    if vulnerable:
        return 1
    if not audited:
        return not_audited(
            f"the advisory service answered for none of the {len(deps)} packages "
            f"(first reason: {deps[0]['skip_reason'] if deps else 'no packages'})"
        )
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    if skipped:
        print(f"pip-audit: not on PyPI, not checked: {', '.join(skipped)}")
    print("pip-audit: no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
