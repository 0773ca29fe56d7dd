"""The credit memo of a committee case, built from the data when the page is shown: what the
members read before they vote.  Reads only; a handful of queries per memo."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.models import CreditLine, Decision, Loan, LoanApplication, RelatedParty
from loans.services.groups import borrower_group_exposure

from .models import ALERT_LIVE_STATUSES, Alert
from .pages import derivation, rule_hits_in_words
from .wording import rule_label


def _m(value):
    from config.backoffice.formatting import format_money

    return format_money(value) if value is not None else None


def _r(value):
    from config.backoffice.formatting import format_rate

    return format_rate(value) if value is not None else None


def _score(kind: str, subject_id: int) -> dict | None:
    from scoring import api as scoring_api

    s = scoring_api.latest_score(subject_kind=kind, subject_id=subject_id)
    if s is None:
        return None
    return {
        "score": s.score, "tier": s.tier, "pd": s.pd, "as_of": s.as_of, "model_version": s.model_version,
        "reasons": [{"code": r.code, "text": r.text_en, "points_lost": r.points_lost} for r in s.reasons],
    }


def _dimensions(company_id: int) -> dict:
    """The company's latest composite score by dimension (the score's components)."""
    from scoring.models import LatestScore, Score

    pointer = LatestScore.objects.filter(subject_kind="company", subject_id=company_id).values_list("score_id", "as_of").first()
    if pointer is None:
        return {}
    # by (id, date): one partition of the score history
    components = Score.objects.filter(pk=pointer[0], as_of=pointer[1]).values_list("components", flat=True).first() or {}
    if not isinstance(components, dict):
        return {}
    rows = []
    own = components.get("own") or {}
    if own:
        rows.append({"dimension": _("The company's own score"), "score": own.get("score"), "weight": own.get("weight"), "contribution": own.get("contribution")})
    for party in components.get("parties") or []:
        rows.append({
            "dimension": _("%(role)s (person #%(id)s)") % {"role": party.get("role"), "id": party.get("person_id")},
            "score": party.get("score"), "weight": party.get("weight"), "contribution": party.get("contribution"),
        })
    return {"formula": components.get("formula", ""), "rows": rows}


def application_memo(application_id: int) -> dict:
    app = LoanApplication.objects.select_related("company", "product", "partner").get(pk=application_id)
    company = app.company
    today = timezone.localdate()
    parties = list(
        RelatedParty.objects.current_on(today).filter(company=company)
        .select_related("person").order_by("role", "person_id")
    )
    group_ids, group_open_limits = borrower_group_exposure(company_id=company.pk, as_of=today)
    decision = app.decisions.filter(kind=Decision.Kind.AUTOMATED).order_by("-id").first()
    person_ids = [p.person_id for p in parties]
    alerts = Alert.objects.filter(
        Q(subject_kind="company", subject_id=company.pk) | Q(subject_kind="person", subject_id__in=person_ids),
        status__in=ALERT_LIVE_STATUSES,
    ).order_by("-last_seen_on")[:50]
    names = {("company", company.pk): company.legal_name, **{("person", p.person_id): p.person.name for p in parties}}
    lines = CreditLine.objects.filter(company_id__in=group_ids or [company.pk]).select_related("company").order_by("company_id", "id")
    loans = Loan.objects.filter(credit_line__company_id__in=group_ids or [company.pk]).order_by("-days_past_due", "id")[:100]
    return {
        "application": {
            _("Application"): f"#{app.pk}", _("Product"): str(app.product), _("Requested amount"): _m(app.requested_amount),
            _("Term (months)"): app.term_months, _("Purpose"): app.purpose, _("Channel"): str(app.partner or _("back office")),
            _("Score"): app.score, _("Tier"): app.tier, _("Proposed limit"): _m(app.approved_limit), _("Proposed rate"): _r(app.annual_rate),
        },
        "company": {
            _("Legal name"): company.legal_name, _("USCC"): company.uscc, _("Industry"): company.get_industry_display(),
            _("Province"): company.get_province_display(), _("Founded on"): company.founded_on,
            _("Registered capital"): _m(company.registered_capital), _("Employees"): company.employees,
            _("Annual revenue"): _m(company.annual_revenue), _("Status"): company.get_status_display(),
            _("Blocklisted"): _("yes") if company.is_blocklisted else _("no"),
        },
        "company_score": _score("company", company.pk),
        "dimensions": _dimensions(company.pk),
        "parties": [
            {"name": p.person.name, "resident_id": p.person.resident_id_masked, "role": p.get_role_display(),
             "ownership_pct": p.ownership_pct, "blocklisted": p.person.is_blocklisted, "score": _score("person", p.person_id)}
            for p in parties
        ],
        "group": {"companies": len(group_ids), "open_limits": _m(group_open_limits)},
        "alerts": [
            {"as_of": a.last_seen_on, "rule": rule_label(a.rule), "severity": a.get_severity_display(),
             "subject": names.get((a.subject_kind, a.subject_id), f"{a.subject_kind} #{a.subject_id}"),
             "old_score": a.old_score, "new_score": a.new_score, "status": a.get_status_display()}
            for a in alerts
        ],
        "lines": [
            {"id": ln.pk, "company": ln.company.legal_name, "status": ln.get_status_display(), "limit": _m(ln.limit_amount),
             "drawn": _m(ln.drawn_principal), "expires_on": ln.expires_on}
            for ln in lines
        ],
        "loans": [
            {"id": ln.pk, "line": ln.credit_line_id, "outstanding": _m(ln.outstanding_principal), "dpd": ln.days_past_due,
             "bucket": ln.get_bucket_display(), "classification": ln.get_classification_display()}
            for ln in loans
        ],
        "derivation": derivation(decision, app),
        "policy": {
            "version": decision.policy_version if decision else None,
            "rule_hits": rule_hits_in_words(decision.rule_hits if decision else []),
            "reason_codes": decision.reason_codes if decision else [],
        },
    }
