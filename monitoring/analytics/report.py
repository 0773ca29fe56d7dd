"""A portfolio snapshot as plain data: for ``portfolio_report``, the admin's CSV and charts."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _

from ..models import ModelMonitoring, PortfolioSnapshot
from .portfolio import AnalyticsError, portfolio_snapshot_compute, run_ready

HEADLINE = (
    "loans_count", "loans_outstanding_principal", "loans_accrued_interest", "loans_penalties",
    "lines_count", "lines_limit", "lines_drawn", "lines_available", "npl_principal", "npl_ratio",
    "expected_loss", "lgd", "top10_group_share", "industry_hhi",
)


def snapshot_get_or_compute(*, as_of: datetime.date) -> tuple[PortfolioSnapshot, bool]:
    """The snapshot of the date, computed when missing (True) if the date's nightly run has
    serviced the book; ``AnalyticsError`` (nothing written) otherwise."""
    snapshot = PortfolioSnapshot.objects.filter(as_of=as_of).first()
    if snapshot is not None:
        return snapshot, False
    run_ready(as_of)
    return portfolio_snapshot_compute(as_of=as_of), True


def model_psi(as_of: datetime.date) -> dict:
    rows = ModelMonitoring.objects.filter(as_of=as_of).select_related("model").order_by("model__subject_kind", "model__version")
    return {
        f"{r.model.subject_kind} v{r.model.version}": {
            "role": r.role, "psi": r.psi, "status": r.psi_status, "auc": r.auc, "ks": r.ks, "gini": r.gini,
            "characteristics": {k: v.get("psi") for k, v in (r.characteristic_psi or {}).items()},
            "messages": r.messages,
        }
        for r in rows
    }


def snapshot_as_dict(snapshot: PortfolioSnapshot) -> dict:
    data = {"as_of": snapshot.as_of.isoformat()}
    for field in HEADLINE:
        value = getattr(snapshot, field)
        data[field] = str(value) if value is not None and not isinstance(value, int) else value
    tables = snapshot.tables or {}
    data.update({
        "previous_as_of": snapshot.previous_as_of.isoformat() if snapshot.previous_as_of else None,
        "roll_from_as_of": snapshot.roll_from_as_of.isoformat() if snapshot.roll_from_as_of else None,
        "five_category": tables.get("five_category", {}),
        "dpd_buckets": tables.get("dpd_buckets", {}),
        "tier_mix": tables.get("tier_mix", {}),
        "migration_matrix": tables.get("migration_matrix", {}),
        "roll_rates": tables.get("roll_rates", {}),
        "vintage_curves": tables.get("vintage_curves", []),
        "concentration": tables.get("concentration", {}),
        "alerts": tables.get("alerts", {}),
        "actions": tables.get("actions", {}),
        "segments": {},
        "psi": model_psi(snapshot.as_of),
        "computed_in_s": snapshot.seconds,
    })
    for seg in snapshot.segments.order_by("dimension", "key"):
        data["segments"].setdefault(seg.dimension, {})[seg.key or "-"] = {
            "loans": seg.loans_count, "principal": str(seg.outstanding_principal),
            "accrued_interest": str(seg.accrued_interest), "penalties": str(seg.penalties),
            "expected_loss": str(seg.expected_loss), "lines": seg.lines_count, "limit": str(seg.lines_limit),
            "drawn": str(seg.lines_drawn), "available": str(seg.lines_available),
        }
    return data


def snapshot_as_text(data: dict) -> list[str]:
    lines = [
        _("Portfolio on %(d)s") % {"d": data["as_of"]},
        _("  loans outstanding: %(n)s loans, principal %(p)s, accrued interest %(i)s, penalties %(f)s") % {
            "n": data["loans_count"], "p": data["loans_outstanding_principal"],
            "i": data["loans_accrued_interest"], "f": data["loans_penalties"]},
        _("  lines: %(n)s open, limit %(l)s, drawn %(d)s, available %(a)s") % {
            "n": data["lines_count"], "l": data["lines_limit"], "d": data["lines_drawn"], "a": data["lines_available"]},
        _("  NPL ratio: %(r)s (%(p)s non-performing); expected loss %(e)s at LGD %(g)s") % {
            "r": data["npl_ratio"], "p": data["npl_principal"], "e": data["expected_loss"], "g": data["lgd"]},
        _("  concentration: top-10 groups %(t)s of principal, industry HHI %(h)s") % {
            "t": data["top10_group_share"], "h": data["industry_hhi"]},
        _("Five categories:"),
    ]
    for cat, row in data["five_category"].items():
        lines.append(f"  {cat:16} {row['loans']:>7} {row['principal']:>18} {row['share']}")
    lines.append(_("DPD buckets:"))
    for bucket, row in data["dpd_buckets"].items():
        lines.append(f"  {bucket:16} {row['loans']:>7} {row['principal']:>18} {row['share']}")
    lines.append(_("Tiers (principal, share, PD, expected loss):"))
    for tier, row in data["tier_mix"].items():
        lines.append(f"  {tier:16} {row['loans']:>7} {row['principal']:>18} {row['share']} {row['pd']} {row['expected_loss']}")
    if data["migration_matrix"]:
        lines.append(_("Tier migration since %(d)s (from -> to: loans):") % {"d": data["previous_as_of"]})
        for frm, tos in data["migration_matrix"].items():
            lines.append(f"  {frm:10} " + "  ".join(f"{to}:{n}" for to, n in tos.items()))
    else:
        lines.append(_("Tier migration: no earlier snapshot"))
    if data["roll_rates"]:
        lines.append(_("Roll rates since %(d)s (share of principal):") % {"d": data["roll_from_as_of"]})
        for frm, tos in data["roll_rates"]["matrix"].items():
            lines.append(f"  {frm:10} " + "  ".join(f"{to}:{share}" for to, share in tos.items()))
    else:
        lines.append(_("Roll rates: no snapshot a month earlier"))
    alerts = data["alerts"].get("by_rule_and_status") or {}
    lines.append(_("Alerts by rule and status:") if alerts else _("Alerts: none on or before this date"))
    for rule, statuses in alerts.items():
        lines.append(f"  {rule:28} " + "  ".join(f"{status}:{n}" for status, n in statuses.items()))
    actions = data["actions"].get("by_rule_and_status") or {}
    if not data["actions"]:
        lines.append(_("Actions: not recorded in this snapshot (computed before they were)"))
    elif not actions:
        lines.append(_("Actions: none proposed on or before this date"))
    else:
        lines.append(_("Post-loan actions by rule and status:"))
        for rule, statuses in actions.items():
            lines.append(f"  {rule:28} " + "  ".join(f"{status}:{n}" for status, n in statuses.items()))
        lines.append(_("Post-loan actions by kind and status:"))
        for kind, statuses in data["actions"].get("by_kind_and_status", {}).items():
            lines.append(f"  {kind:28} " + "  ".join(f"{status}:{n}" for status, n in statuses.items()))
    lines.append(_("Models (PSI, status, AUC):"))
    for label, row in data["psi"].items():
        lines.append(f"  {label:16} {row['role']:10} {row['psi']} {row['status']} {row['auc']}")
        lines.extend(f"    {m}" for m in row["messages"])
    if not data["psi"]:
        lines.append(_("  no model monitoring for this date"))
    return lines


__all__ = ["AnalyticsError", "snapshot_as_dict", "snapshot_as_text", "snapshot_get_or_compute"]
