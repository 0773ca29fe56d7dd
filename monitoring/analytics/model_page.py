"""The reads behind a score model's page in the back office: its stability (score distribution
against the reference, PSI per night), its power (AUC and KS per observation month), its
calibration (bad rate against the PD each tier promised), and the champion beside its
challengers with the swap set and the pending promotion.

Every read is bounded: the last ``NIGHTS`` monitoring rows by one indexed query, the latest
row in full, the rows of the same kind's champion and challengers on that night, the pending
promotion — the page costs the same whatever the history's length.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..models import DriftStatus, ModelMonitoring, ModelPromotion, PromotionStatus
from . import stats

NIGHTS = 90  # nights of PSI drawn on the page
SERIES_FIELDS = ("as_of", "psi", "psi_status", "auc", "ks", "gini", "n_outcomes")


def _share(counts: list) -> list[float]:
    total = float(sum(counts or [])) or 1.0
    return [round(100.0 * c / total, 3) for c in counts or []]


def distribution_chart(row: ModelMonitoring | None) -> dict | None:
    """The night's score distribution and the reference, as percentages per bin (the bins
    neither side uses, at the ends, left out)."""
    dist = (row.score_distribution or {}) if row else {}
    counts, reference, edges = dist.get("counts"), dist.get("reference"), dist.get("edges")
    if not counts or not edges:
        return None
    used = [i for i, (a, b) in enumerate(zip(counts, reference or [0] * len(counts), strict=False)) if a or b]
    lo, hi = (used[0], used[-1] + 1) if used else (0, len(counts))
    width = int(dist.get("bin_width") or 0)
    labels = [f"{e}–{e + width - 1}" if width else str(e) for e in edges[lo:hi]]
    return {
        "labels": labels,
        "live": _share(counts)[lo:hi],
        "reference": _share(reference)[lo:hi] if reference else None,
        "live_label": _("Scores on %(d)s (%%)") % {"d": row.as_of.isoformat()},
        "reference_label": _("Reference at training (%)"),
        "source": dist.get("source", ""),
    }


def psi_chart(series: list[dict]) -> dict:
    return {
        "labels": [r["as_of"].isoformat() for r in series],
        "psi": [r["psi"] for r in series],
        "warn": stats.PSI_WARN,
        "alert": stats.PSI_ALERT,
        "psi_label": _("Score PSI"),
        "warn_label": _("Warn (0.10)"),
        "alert_label": _("Alert (0.25)"),
    }


def power_chart(row: ModelMonitoring | None) -> dict:
    """AUC and KS per observation month, from the latest back-test."""
    months = [m for m in ((row.backtest or []) if row else []) if isinstance(m, dict)]
    return {
        "labels": [m["month"] for m in months],
        "auc": [m.get("auc") for m in months],
        "ks": [m.get("ks") for m in months],
        "auc_label": _("AUC"),
        "ks_label": _("KS"),
    }


def calibration_rows(row: ModelMonitoring | None) -> list[dict]:
    rows = []
    for t in (row.calibration or []) if row else []:
        ratio = t["bad_rate"] / t["pd"] if t.get("pd") else None
        rows.append({**t, "ratio": None if ratio is None else round(ratio, 2)})
    return rows


def calibration_chart(rows: list[dict]) -> dict:
    return {
        "labels": [r["tier"] for r in rows],
        "bad_rate": [round(100 * r["bad_rate"], 4) for r in rows],
        "pd": [round(100 * r["pd"], 4) for r in rows],
        "bad_rate_label": _("Realised bad rate (%)"),
        "pd_label": _("PD promised (%)"),
    }


def status_label(status: str) -> str:
    """A model's status in the reader's language (scoring's choices carry English labels)."""
    return {
        "draft": _("Draft"), "challenger": _("Challenger"), "champion": _("Champion"), "retired": _("Retired"),
    }.get(status, status)


def _column(model, row: ModelMonitoring | None) -> dict:
    shadow = (row.shadow or {}) if row else {}
    return {"model": model, "row": row, "shadow": shadow, "is_challenger": model.status == "challenger",
            "status_label": status_label(model.status)}


def side_by_side(model, latest: ModelMonitoring | None) -> list[dict]:
    """The champion first, then each challenger of the same kind, each with its monitoring row
    of the night of ``latest`` (one query for the models, one for their rows)."""
    from scoring.models import ModelStatus, ScoreModel

    models = list(
        ScoreModel.objects.filter(subject_kind=model.subject_kind, status__in=[ModelStatus.CHAMPION, ModelStatus.CHALLENGER])
        .order_by("-status", "version")  # "champion" sorts after "challenger": champion first
    )
    if model not in models:
        models.insert(0, model)
    rows = {}
    if latest is not None:
        rows = {r.model_id: r for r in ModelMonitoring.objects.filter(as_of=latest.as_of, model__in=models)}
    return [_column(m, rows.get(m.pk)) for m in models]


def model_page(pk: int) -> dict:
    """Everything the page shows; ``ScoreModel.DoesNotExist`` for an unknown model."""
    from scoring.models import ScoreModel

    model = ScoreModel.objects.get(pk=pk)
    series = list(
        ModelMonitoring.objects.filter(model=model).order_by("-as_of").values(*SERIES_FIELDS)[:NIGHTS]
    )[::-1]
    latest = ModelMonitoring.objects.filter(model=model).order_by("-as_of").first() if series else None
    calibration = calibration_rows(latest)
    columns = side_by_side(model, latest)
    pending = {
        p.model_id: p
        for p in ModelPromotion.objects.filter(model__in=[c["model"] for c in columns], status=PromotionStatus.PENDING)
        .select_related("proposed_by")
    }
    for column in columns:
        column["pending"] = pending.get(column["model"].pk)
    labels = dict(DriftStatus.choices)
    characteristics = sorted(
        ((name, c.get("psi"), c.get("status"), labels.get(c.get("status"), c.get("status")))
         for name, c in ((latest.characteristic_psi or {}) if latest else {}).items()),
        key=lambda item: -(item[1] or 0),
    )
    messages = list(latest.messages or []) if latest else []
    if latest is None:
        messages.append(_("No monitoring yet: the nightly run monitors champions and challengers after servicing."))
    return {
        "model": model,
        "status_label": status_label(model.status),
        "latest": latest,
        "series": series,
        "calibration": calibration,
        "characteristics": characteristics,
        "columns": columns,
        "messages": messages,
        "charts": {
            "distribution": distribution_chart(latest),
            "psi": psi_chart(series),
            "power": power_chart(latest),
            "calibration": calibration_chart(calibration),
        },
    }
