"""The one place analytics reads and raises alerts.  The alert model is ``EarlyWarning`` today;
another branch renames it ``Alert``: only ``alert_model`` needs to follow."""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db.models import Count


def alert_model():
    for name in ("Alert", "EarlyWarning"):
        try:
            return apps.get_model("monitoring", name)
        except LookupError:
            continue
    raise LookupError("monitoring has no alert model")


def alerts_by_rule_and_status(*, as_of: datetime.date) -> dict:
    """Alerts raised on the date by rule and severity, and every alert dated on or before it by
    rule and status (one GROUP BY each)."""
    model = alert_model()
    raised = model.objects.filter(as_of=as_of).values("rule", "severity").annotate(n=Count("pk")).order_by("rule", "severity")
    standing = (
        model.objects.filter(as_of__lte=as_of).values("rule", "status").annotate(n=Count("pk")).order_by("rule", "status")
    )
    by_status: dict[str, dict[str, int]] = {}
    for row in standing:
        by_status.setdefault(row["rule"], {})[row["status"]] = row["n"]
    by_severity: dict[str, dict[str, int]] = {}
    for row in raised:
        by_severity.setdefault(row["rule"], {})[row["severity"]] = row["n"]
    return {"raised_on_date": by_severity, "by_rule_and_status": by_status}


def model_alert_raise(*, rule: str, detail: str, as_of: datetime.date, subject_id: int, severity: str = "high"):
    """A system-level alert about one model (subject kind "system", the model's id as
    subject), the way the ledger check raises its own; a repeat the same day updates its
    detail and reopens it."""
    from django.db import transaction

    model = alert_model()
    with transaction.atomic():
        alert, _ = model.objects.select_for_update().update_or_create(
            subject_kind="system", subject_id=subject_id, as_of=as_of, rule=rule,
            defaults={"severity": severity, "status": "open", "detail": detail[:4000]},
        )
    return alert
