"""The nightly check of the ledger: verify the keyed chain against its anchor, move the anchor
to the verified head, and raise a system alert (logged at CRITICAL) when either fails.

Scheduled by beat as ``monitoring.tasks.verify_ledger`` (the periodic task "ledger
verification", created by monitoring migration 0003).  The anchor's log line written here is
the second, independent record of the ledger's size and head.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from loans.services.ledger import Anchor, LedgerAnchorError, ledger_checkpoint, ledger_verify

from .models import ALERT_LIVE_STATUSES, SYSTEM_SUBJECT_ID, Alert, Severity

log = logging.getLogger(__name__)

LEDGER_RULE = "ledger_verification_failed"


@dataclass(frozen=True)
class LedgerCheck:
    entries: int
    problem: str | None  # None: verified (and anchored, when an anchor path is configured)
    anchor: Anchor | None


def system_alert_raise(
    *, rule: str, detail: str, as_of: datetime.date | None = None, subject_id: int = SYSTEM_SUBJECT_ID,
    severity: str = Severity.HIGH,
) -> Alert:
    """One live system alert per rule and subject (the system itself, or e.g. a scorecard by its
    id): a repeat while it is open (or acknowledged) updates its severity, detail and
    ``last_seen_on``; after it was resolved or dismissed, a new one."""
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(subject_kind="system", subject_id=subject_id, rule=rule, status__in=ALERT_LIVE_STATUSES)
            .first()
        )
        if alert is None:
            return Alert.objects.create(
                subject_kind="system", subject_id=subject_id, rule=rule, severity=severity,
                first_seen_on=as_of, last_seen_on=as_of, detail=detail[:4000], evidence={"detail": detail[:4000]},
            )
        alert.severity, alert.detail, alert.evidence = severity, detail[:4000], {"detail": detail[:4000]}
        alert.last_seen_on = max(alert.last_seen_on, as_of)
        alert.save(update_fields=["severity", "detail", "evidence", "last_seen_on"])
    return alert


def ledger_check_nightly() -> LedgerCheck:
    """Verify, then checkpoint; on any failure an alert and a CRITICAL log line, never an
    exception (the schedule must go on reporting)."""
    from django.conf import settings

    checked, broken = ledger_verify()
    anchor = None
    problem = str(broken) if broken else None
    if problem is None and settings.LEDGER_ANCHOR_PATH:
        try:
            anchor = ledger_checkpoint()
        except LedgerAnchorError as exc:
            problem = f"anchor not moved: {exc}"
    if problem is not None:
        log.critical("ledger verification FAILED after %d entries: %s", checked, problem)
        system_alert_raise(rule=LEDGER_RULE, detail=f"{problem} ({checked} entries verified before it)")
    else:
        log.info("ledger verified: %d entries%s", checked, f"; {anchor.log_line()}" if anchor else " (no anchor configured)")
    return LedgerCheck(entries=checked, problem=problem, anchor=anchor)
