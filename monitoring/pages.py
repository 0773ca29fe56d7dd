"""The reads behind the back office's record pages: a company's story, a person's, and the
underwriting view of an application.

They live in ``monitoring`` because a page puts the loan book, the scores and the alerts side
by side, and only this app may read all three.  Every list is cut at a fixed length and every
read is one indexed query, so a page costs the same number of queries for a company with one
loan as for one with a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Count, Q, Subquery, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.backoffice.formatting import format_figure
from loans.choices import CreditLineStatus, Role, ledger_kind_label
from loans.models import (
    ApplicationEvent,
    BorrowerGroupMember,
    Company,
    CreditLine,
    Decision,
    LedgerEntry,
    Loan,
    LoanApplication,
    Person,
    RelatedParty,
)
from loans.money import money
from loans.pricing import term_spread_for
from loans.services.applications import TRANSITIONS
from loans.services.policy import policy_snapshot
from scoring.features import COMPANY_FEATURES, PERSON_FEATURES
from scoring.models import CompanyCreditSnapshot, LatestScore, MonthlyScoreSummary, PersonCreditSnapshot, Score
from scoring.reasons import texts_for
from scoring.words import feature_meaning, source_label, unit_label

from .dashboard import alert_model
from .models import CommitteeCase, PostLoanAction

HISTORY_DAYS = 180  # score history drawn on a page
ROWS = 50  # rows of a list on a page
SNAPSHOTS = 8
ZERO = Decimal("0.00")

# The dimensions of a person's score (scorecard.dimension_points keys), in words.
DIMENSIONS = {
    "credit_history": _("Credit history"),
    "behaviour": _("Behaviour and preferences"),
    "ability": _("Ability to fulfil commitments"),
    "identity": _("Identity traits"),
    "social": _("Social connections"),
    "scale": _("Scale of business"),
    "stability": _("Stability"),
    "compliance": _("Compliance"),
    "maturity": _("Maturity"),
    "obligations": _("Obligations"),
}

# What each rule of the automated decision means, in words (the engine's messages are English).
RULES = {
    "KO_COMPANY_STATUS": _("The company's registration status excludes it."),
    "KO_COMPANY_BLOCKLISTED": _("The company is on the blocklist."),
    "KO_COMPANY_IN_DEFAULT": _("The company is in default."),
    "KO_PARTY_IN_DEFAULT": _("A related party is in default."),
    "KO_PARTY_BLOCKLISTED": _("A related party is on the blocklist."),
    "KO_LEGAL_REP_SCORE": _("The legal representative scores below the policy's floor."),
    "KO_AMOUNT_OUTSIDE_PRODUCT": _("The amount is outside the product's range."),
    "KO_TERM_OUTSIDE_PRODUCT": _("The term is outside the product's range."),
    "KO_GROUP_EXPOSURE": _("The borrower group's exposure leaves no room under the cap."),
    "EL_SCORE_BELOW_MIN": _("The composite score is below the minimum."),
    "EL_NO_TIER": _("The composite score falls in no tier band."),
    "EL_LIMIT_BELOW_PRODUCT_MIN": _("The limit the policy allows is below the product's minimum."),
    "RATE_CAPPED": _("The rate was capped at the legal maximum."),
    "LIMIT_GROUP_HEADROOM": _("The limit was cut to the borrower group's headroom."),
    "REF_GREY_BAND": _("The score is in the grey band: the credit committee decides."),
    "REF_ABOVE_AUTO_CEILING": _("The limit is above the auto-approval ceiling: the credit committee decides."),
    "REF_LEGAL_REP_UNSCORED": _("The legal representative has no score."),
    "REF_NO_LEGAL_REP": _("The company has no legal representative on file."),
    "REF_STALE_SCORE": _("The company's score is older than the policy allows."),
}
EFFECTS = {
    "knockout": _("knock-out"),
    "ineligible": _("ineligible"),
    "refer": _("referral"),
    "adjustment": _("adjustment"),
}
BINDING = {
    "requested": _("the amount requested"),
    "capacity": _("revenue capacity × tier multiplier"),
    "product_max": _("the product's maximum"),
    "group_headroom": _("the borrower group's headroom under the cap"),
}


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    points_lost: float | None
    subject: str = ""


def reasons_in_words(codes) -> list[Reason]:
    """[{code, points_lost, ...}] as codes with their text in the reader's language."""
    zh = _chinese()
    found = []
    for r in codes or ():
        en, cn = texts_for(r["code"])
        found.append(Reason(code=r["code"], text=cn if zh else en, points_lost=r.get("points_lost"), subject=r.get("subject", "")))
    return found


@dataclass(frozen=True)
class ScoreView:
    as_of: object
    score: int
    tier: str
    pd: float
    in_default: bool
    model_version: int
    dimensions: list[tuple[str, float]]
    components: dict
    reasons: list[Reason]


def _latest_score(kind: str, subject_id: int) -> ScoreView | None:
    """The subject's latest score in full (one query through the latest pointer)."""
    # By (id, date): the pointer carries its score's date, so the lookup goes to one month's
    # partition of the score history instead of probing every partition's key.
    pointer = LatestScore.objects.filter(subject_kind=kind, subject_id=subject_id)
    row = Score.objects.filter(
        pk=Subquery(pointer.values("score_id")[:1]), as_of=Subquery(pointer.values("as_of")[:1])
    ).first()
    if row is None:
        return None
    dims = [(str(DIMENSIONS.get(k, k)), round(float(v), 1)) for k, v in (row.dimension_points or {}).items()]
    return ScoreView(
        as_of=row.as_of, score=row.score, tier=row.tier, pd=row.pd, in_default=row.in_default,
        model_version=row.model_version, dimensions=dims, components=row.components or {},
        reasons=reasons_in_words(row.reason_codes),
    )


def score_history(kind: str, subject_id: int, *, limit: int = HISTORY_DAYS) -> list[dict]:
    """The subject's scores, oldest first (one query through the unique index's prefix)."""
    rows = list(
        Score.objects.filter(subject_kind=kind, subject_id=subject_id)
        .order_by("-as_of", "-id").values_list("as_of", "score", "tier")[:limit]
    )
    return [{"as_of": d.isoformat(), "score": s, "tier": t} for d, s, t in reversed(rows)]


MONTHS = 24


def monthly_history(kind: str, subject_id: int, *, limit: int = MONTHS) -> list[MonthlyScoreSummary]:
    """The months whose daily scores retention replaced by their summary, newest first (one
    query through the summaries' unique index prefix; none yet: an empty list)."""
    return list(
        MonthlyScoreSummary.objects.filter(subject_kind=kind, subject_id=subject_id).order_by("-month", "model_id")[:limit]
    )


def _snapshots(model, fk: str, subject_id: int, features) -> dict:
    """The latest observations, newest first, in words: each feature's meaning and unit in
    the reader's language and its figures formatted (money with separators), one cell a date."""
    names = [f.name for f in features]
    rows = list(model.objects.filter(**{fk: subject_id}).order_by("-as_of").values("as_of", "source", *names)[:SNAPSHOTS])
    for row in rows:
        row["source_label"] = source_label(row["source"])
    return {
        "features": [
            # money needs no unit beside it: its figures carry the currency
            (f.name, feature_meaning(f), "" if f.unit == "CNY" else unit_label(f.unit),
             [format_figure(row[f.name], f.unit) for row in rows])
            for f in features
        ],
        "rows": rows,
    }


def _alerts(kind: str, subject_id: int) -> list:
    """The subject's alerts, each with its rule's name and its page (``rule_name``, ``url``)."""
    from .wording import admin_change_url, rule_label

    model = alert_model()
    alerts = list(model.objects.filter(subject_kind=kind, subject_id=subject_id).order_by("-last_seen_on", "-id")[:ROWS])
    for a in alerts:
        a.rule_name, a.url = rule_label(a.rule), admin_change_url(model, a.pk)
    return alerts


def _latest_scores(kind: str, ids) -> dict[int, LatestScore]:
    ids = list(ids)
    if not ids:
        return {}
    return {ls.subject_id: ls for ls in LatestScore.objects.filter(subject_kind=kind, subject_id__in=ids)}


@dataclass(frozen=True)
class Group:
    key: int | None
    members: list  # [(company id, legal name)] (the first ROWS)
    size: int
    open_limits: Decimal
    outstanding: Decimal


def borrower_group(company_id: int) -> Group | None:
    """The company's borrower group (as last rebuilt) and the group's exposure (three queries)."""
    key = BorrowerGroupMember.objects.filter(company_id=company_id).values_list("group_key", flat=True).first()
    if key is None:
        return None
    members = BorrowerGroupMember.objects.filter(group_key=key)
    member_ids = members.values("company_id")
    lines = CreditLine.objects.filter(company_id__in=member_ids, status__in=[CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN]).aggregate(
        limits=Sum("limit_amount"), drawn=Sum("drawn_principal"), size=Count("company_id", distinct=True),
    )
    names = list(Company.objects.filter(pk__in=member_ids).order_by("legal_name").values_list("pk", "legal_name")[:ROWS])
    return Group(
        key=key, members=names, size=members.count(),
        open_limits=money(lines["limits"] or ZERO), outstanding=money(lines["drawn"] or ZERO),
    )


@dataclass(frozen=True)
class LedgerRow:
    """A ledger entry as the company page lists it: its subject by name, linked to its page."""

    seq: int
    kind: str
    kind_label: str
    created_at: object
    subject: str
    url: str | None


def _ledger(objects: list) -> list[LedgerRow]:
    """The entries about ``objects`` (the lines, loans, applications, actions and cases the page
    read anyway), newest first, each subject named by its own ``__str__`` and linked to its
    admin page (the URL reversed from the model's ``_meta``): never "loans.creditline #1"."""
    from .wording import admin_change_url

    by_ref = {(o._meta.label_lower, str(o.pk)): o for o in objects}
    ids: dict[str, list[str]] = {}
    for subject_type, pk in by_ref:
        ids.setdefault(subject_type, []).append(pk)
    q = Q()
    for subject_type, pks in ids.items():
        q |= Q(subject_type=subject_type, subject_id__in=pks)
    if not q:
        return []
    entries = LedgerEntry.objects.filter(q).only("seq", "kind", "subject_type", "subject_id", "created_at").order_by("-seq")[:ROWS]
    rows = []
    for e in entries:
        obj = by_ref.get((e.subject_type, e.subject_id))
        rows.append(LedgerRow(
            seq=e.seq, kind=e.kind, kind_label=ledger_kind_label(e.kind), created_at=e.created_at,
            subject=str(obj) if obj is not None else f"{e.subject_type} #{e.subject_id}",
            url=admin_change_url(type(obj), obj.pk) if obj is not None else None,
        ))
    return rows


def _named_parties(score: ScoreView | None, parties: list) -> ScoreView | None:
    """The composite's parts by the party's name and role in words (the stored components keep
    ids and role values): from the related parties the page reads anyway, no extra query."""
    if score is None or not (score.components or {}).get("parties"):
        return score
    names = {p.person_id: p.person.name for p in parties}
    roles = dict(Role.choices)
    named = [
        {**part, "name": names.get(part.get("person_id")), "role_label": roles.get(part.get("role"), part.get("role"))}
        for part in score.components["parties"]
    ]
    return replace(score, components={**score.components, "parties": named})


def company_page(company_id: int) -> dict:
    company = Company.objects.select_related("partner").get(pk=company_id)
    parties = list(
        RelatedParty.objects.filter(company_id=company_id).select_related("person")
        .order_by("valid_to", "role", "person__name")[:ROWS]
    )
    party_scores = _latest_scores("person", {p.person_id for p in parties})
    lines = list(CreditLine.objects.filter(company_id=company_id).select_related("product", "company").order_by("-id")[:ROWS])
    loans = list(Loan.objects.filter(company_id=company_id).order_by("-id")[:ROWS])
    applications = list(LoanApplication.objects.filter(company_id=company_id).select_related("product", "company").order_by("-id")[:ROWS])
    open_lines = [ln for ln in lines if ln.status != CreditLineStatus.CLOSED]
    # The actions and committee cases about the company, for the ledger's subjects by name.
    actions = list(PostLoanAction.objects.filter(company_id=company_id).select_related("company").order_by("-id")[:ROWS])
    cases = list(CommitteeCase.objects.filter(
        Q(application_id__in=[a.pk for a in applications]) | Q(kind="post_loan_action", subject_id__in=[a.pk for a in actions])
    ).order_by("-id")[:ROWS])
    return {
        "company": company,
        "score": _named_parties(_latest_score("company", company_id), parties),
        "history": score_history("company", company_id),
        "monthly": monthly_history("company", company_id),
        "snapshots": _snapshots(CompanyCreditSnapshot, "company_id", company_id, COMPANY_FEATURES),
        "parties": [(p, party_scores.get(p.person_id)) for p in parties],
        "group": borrower_group(company_id),
        "lines": lines,
        "loans": loans,
        "applications": applications,
        "alerts": _alerts("company", company_id),
        "ledger": _ledger([*applications, *lines, *loans, *actions, *cases]),
        "totals": {
            "limits": sum((ln.limit_amount for ln in open_lines), ZERO),
            "drawn": sum((ln.drawn_principal for ln in open_lines), ZERO),
            "outstanding": sum((ln.outstanding_principal for ln in loans if ln.status == "active"), ZERO),
            "max_dpd": max((ln.days_past_due for ln in loans if ln.status == "active"), default=0),
        },
    }


def person_page(person_id: int) -> dict:
    person = Person.objects.select_related("partner").get(pk=person_id)
    roles = list(RelatedParty.objects.filter(person_id=person_id).select_related("company").order_by("valid_to", "company__legal_name")[:ROWS])
    company_scores = _latest_scores("company", {r.company_id for r in roles})
    return {
        "person": person,
        "score": _latest_score("person", person_id),
        "history": score_history("person", person_id),
        "monthly": monthly_history("person", person_id),
        "snapshots": _snapshots(PersonCreditSnapshot, "person_id", person_id, PERSON_FEATURES),
        "roles": [(r, company_scores.get(r.company_id)) for r in roles],
        "alerts": _alerts("person", person_id),
    }


@dataclass(frozen=True)
class RuleHitView:
    code: str
    effect: str
    effect_label: str
    meaning: str
    message: str


def rule_hits_in_words(hits) -> list[RuleHitView]:
    return [
        RuleHitView(
            code=h.get("code", ""), effect=h.get("effect", ""), effect_label=str(EFFECTS.get(h.get("effect", ""), h.get("effect", ""))),
            meaning=str(RULES.get(h.get("code", ""), "")), message=h.get("message", ""),
        )
        for h in hits or ()
    ]


# The next moves an officer can make from a status: (target status, service, permission).
MOVES = (
    ("submitted", "submit", "loans.submit_application", _("Submit for the automated decision")),
    ("accepted", "accept", "loans.accept_offer", _("Borrower accepts the offer")),
    ("booked", "book", "loans.book_application", _("Book (opens the credit line)")),
    ("withdrawn", "withdraw", "loans.withdraw_application", _("Withdraw")),
)


def next_moves(status: str, user) -> list[dict]:
    """The moves the status allows, each marked with whether ``user`` may make it."""
    allowed = TRANSITIONS.get(status, frozenset())
    return [
        {"move": move, "label": label, "permitted": user.has_perm(perm)}
        for target, move, perm, label in MOVES if target in allowed
    ]


def application_page(application_id: int, user) -> dict:
    app = LoanApplication.objects.select_related("company", "product", "partner", "created_by").get(pk=application_id)
    decisions = list(
        Decision.objects.filter(application_id=application_id).select_related("decided_by", "policy").order_by("-id")[:ROWS]
    )
    events = list(ApplicationEvent.objects.filter(application_id=application_id).select_related("actor").order_by("-id")[:ROWS])
    automated = next((d for d in decisions if d.kind == "automated"), None)
    inputs = automated.inputs if automated else {}
    outputs = automated.outputs if automated else {}
    parties_in = (inputs.get("scores") or {}).get("parties") or []
    names = dict(Person.objects.filter(pk__in=[p["person_id"] for p in parties_in]).values_list("pk", "name")) if parties_in else {}
    parties = [
        {**p, "name": names.get(p["person_id"], f"#{p['person_id']}"), "role_label": Role(p["role"]).label if p["role"] in Role.values else p["role"]}
        for p in parties_in
    ]
    limit = outputs.get("limit_breakdown") or {}
    return {
        "derivation": derivation(automated, app),
        "app": app,
        "decisions": decisions,
        "decision": automated,
        "events": events,
        "company_score": (inputs.get("scores") or {}).get("company"),
        "parties": parties,
        "rule_hits": rule_hits_in_words(automated.rule_hits if automated else []),
        "reasons": reasons_in_words(automated.reason_codes if automated else []),
        "current_reasons": (_latest_score("company", app.company_id) or None),
        "limit": limit,
        "binding": str(BINDING.get(limit.get("binding", ""), limit.get("binding", ""))),
        "rate": outputs.get("rate_breakdown") or {},
        "group": inputs.get("group") or {},
        "request": inputs.get("request") or {},
        "product_terms": inputs.get("product") or {},
        "pricing": _pricing(automated, inputs),
        "moves": next_moves(app.status, user),
    }


def derivation(decision, app) -> dict:
    """How a decision's limit and rate were derived (templates/backoffice/_derivation.html): the
    limit's candidates and which one binds, the rate's parts, from the automated decision's
    recorded outputs and the policy version it names.  The underwriting page and the
    committee's memo show the same thing."""
    inputs = decision.inputs if decision else {}
    outputs = decision.outputs if decision else {}
    limit = outputs.get("limit_breakdown") or {}
    return {
        "limit": limit,
        "binding": str(BINDING.get(limit.get("binding", ""), limit.get("binding", ""))),
        "rate": outputs.get("rate_breakdown") or {},
        "pricing": _pricing(decision, inputs),
        "group": inputs.get("group") or {},
        "annual_rate": app.annual_rate,
    }


def _pricing(decision, inputs) -> dict | None:
    """How the limit's capacity and the rate were built, from the policy version the decision names."""
    if decision is None or not decision.tier:
        return None
    snap = policy_snapshot(decision.policy)
    band = next((b for b in snap.tier_bands if b.tier == decision.tier), None)
    if band is None:
        return None
    term = (inputs.get("request") or {}).get("term_months") or 0
    return {
        "policy_version": snap.version,
        "tier": band.tier,
        "min_score": band.min_score,
        "base_rate": band.base_rate,
        "multiplier": band.multiplier,
        "product_spread": (inputs.get("product") or {}).get("rate_spread"),
        "term_spread": term_spread_for(int(term), snap.term_spreads),
        "term_months": term,
        "capacity_ratio": snap.revenue_capacity_ratio,
        "annual_revenue": (inputs.get("company") or {}).get("annual_revenue"),
        "group_cap": snap.group_exposure_cap,
        "legal_rate_cap": snap.legal_rate_cap,
        "grey_band": (snap.grey_band_low, snap.grey_band_high),
        "auto_ceiling": snap.auto_approval_ceiling,
    }
