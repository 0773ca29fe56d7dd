"""The one place analytics reads and raises alerts (``monitoring.Alert``)."""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db.models import Count


def alert_model():
    return apps.get_model("monitoring", "Alert")


def alerts_by_rule_and_status(*, as_of: datetime.date) -> dict:
    """Alerts raised on the date by rule and severity, and every alert dated on or before it by
    rule and status (one GROUP BY each)."""
    model = alert_model()
    raised = model.objects.filter(first_seen_on=as_of).values("rule", "severity").annotate(n=Count("pk")).order_by("rule", "severity")
    standing = (
        model.objects.filter(first_seen_on__lte=as_of).values("rule", "status").annotate(n=Count("pk")).order_by("rule", "status")
    )
    by_status: dict[str, dict[str, int]] = {}
    for row in standing:
        by_status.setdefault(row["rule"], {})[row["status"]] = row["n"]
    by_severity: dict[str, dict[str, int]] = {}
    for row in raised:
        by_severity.setdefault(row["rule"], {})[row["severity"]] = row["n"]
    return {"raised_on_date": by_severity, "by_rule_and_status": by_status}


MANUAL = "manual"  # an action that answers no alert: proposed by hand


def actions_by_rule_and_status(*, as_of: datetime.date) -> dict:
    """Post-loan actions proposed on or before the date, by the rule of the alert they answer
    ("manual" when none) and status, and by kind and status: one GROUP BY each."""
    from monitoring.models import PostLoanAction

    proposed = PostLoanAction.objects.filter(proposed_at__date__lte=as_of)
    by_rule: dict[str, dict[str, int]] = {}
    for row in proposed.values("alert__rule", "status").annotate(n=Count("pk")).order_by("alert__rule", "status"):
        by_rule.setdefault(row["alert__rule"] or MANUAL, {})[row["status"]] = row["n"]
    by_kind: dict[str, dict[str, int]] = {}
    for row in proposed.values("kind", "status").annotate(n=Count("pk")).order_by("kind", "status"):
        by_kind.setdefault(row["kind"], {})[row["status"]] = row["n"]
    return {"by_rule_and_status": by_rule, "by_kind_and_status": by_kind}


def model_alert_raise(*, rule: str, detail: str, as_of: datetime.date, subject_id: int, severity: str = "high"):
    """A system-level alert about one model (subject kind "system", the model's id as subject),
    raised the way the ledger check raises its own (one live alert per model and rule)."""
    from monitoring.integrity import system_alert_raise

    return system_alert_raise(rule=rule, detail=detail, as_of=as_of, subject_id=subject_id, severity=severity)
