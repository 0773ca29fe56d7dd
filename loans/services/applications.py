"""Loan applications: creation, the automated decision on submit, the credit committee,
acceptance, booking (which opens the credit line), withdrawal and expiry.

Every status change goes through :func:`_transition`: the row is locked, the move is checked
against ``TRANSITIONS``, a history row is written, all in the caller's transaction.
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.history.records import records_actor

from .. import decisioning, events, metrics, rawsql, value_dates
from ..choices import ApplicationStatus as S
from ..choices import CreditLineStatus
from ..errors import DomainError, InvalidTransition, NotFound
from ..models import (
    ApplicationEvent,
    Company,
    CreditLine,
    CreditPolicy,
    Decision,
    LoanApplication,
    LoanProduct,
    Partner,
    Person,
    RelatedParty,
    maker_of,
    role_current_on_sql,
)
from ..money import MoneyError, money, rate
from ..schedule import MAX_TERM_MONTHS, add_months
from .groups import borrower_group_exposure, group_open_limits
from .ledger import ledger_append
from .policy import active_policy_key, credit_policy_active, credit_policy_version

# django-oscar style: the only moves there are.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.APPROVED, S.DECLINED, S.REFERRED, S.WITHDRAWN}),
    S.REFERRED: frozenset({S.COMMITTEE_APPROVED, S.COMMITTEE_DECLINED, S.WITHDRAWN, S.EXPIRED}),
    S.APPROVED: frozenset({S.ACCEPTED, S.WITHDRAWN, S.EXPIRED}),
    S.COMMITTEE_APPROVED: frozenset({S.ACCEPTED, S.WITHDRAWN, S.EXPIRED}),
    S.ACCEPTED: frozenset({S.BOOKED, S.WITHDRAWN, S.EXPIRED}),
    S.DECLINED: frozenset(),
    S.COMMITTEE_DECLINED: frozenset(),
    S.BOOKED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.EXPIRED: frozenset(),
}
OUTCOME_STATUS = {
    decisioning.APPROVE: S.APPROVED,
    decisioning.DECLINE: S.DECLINED,
    decisioning.REFER: S.REFERRED,
}
# Offers that lapse when not taken up within the policy's offer validity.
EXPIRING = (S.APPROVED, S.COMMITTEE_APPROVED, S.ACCEPTED, S.REFERRED)


def _actor_id(actor):
    return getattr(actor, "pk", None)


def _lock(application_id: int) -> LoanApplication:
    try:
        return (
            LoanApplication.objects.select_for_update(of=("self",))
            .select_related("company", "product")
            .get(pk=application_id)
        )
    except LoanApplication.DoesNotExist:
        raise NotFound(f"Application #{application_id} does not exist.", field="application_id") from None


def _check(app: LoanApplication, to_status: str) -> None:
    if to_status not in TRANSITIONS[app.status]:
        allowed = ", ".join(sorted(TRANSITIONS[app.status])) or "none (final status)"
        raise InvalidTransition(
            f"Application #{app.pk} cannot go from {app.status} to {to_status}; allowed: {allowed}.",
            field="status",
        )


def _transition(app: LoanApplication, to_status: str, *, actor=None, note: str = "", extra_fields=()) -> ApplicationEvent:
    """Move a locked application; the caller holds the transaction."""
    _check(app, to_status)
    from_status, app.status = app.status, to_status
    app.save(update_fields=["status", "updated_at", *extra_fields])
    return ApplicationEvent.objects.create(
        application=app, from_status=from_status, to_status=to_status, actor_id=_actor_id(actor), note=note[:500]
    )


# --- create -------------------------------------------------------------------------------


def application_create(
    *,
    company_id: int,
    requested_amount,
    term_months: int,
    product_id: int | None = None,
    product_code: str | None = None,
    purpose: str = "",
    partner_id: int | None = None,
    actor=None,
) -> LoanApplication:
    """A draft application.  The product is named by id or code."""
    facts, amount = _new_application_checked(
        company_id=company_id, product_id=product_id, product_code=product_code, partner_id=partner_id,
        requested_amount=requested_amount, term_months=term_months, as_of=timezone.localdate(),
    )
    with transaction.atomic():
        app = LoanApplication.objects.create(
            company_id=company_id,
            product=facts.product,
            partner_id=partner_id,
            requested_amount=amount,
            term_months=term_months,
            purpose=purpose[:500],
            created_by=actor if _actor_id(actor) else None,
            maker=maker_of(actor=actor, partner_id=partner_id, system="application_create"),
        )
        ApplicationEvent.objects.create(application=app, from_status="", to_status=S.DRAFT, actor_id=_actor_id(actor), note="created")
    return app


# --- submit: the automated decision ----------------------------------------------------------


_COMPANY_FIELDS = ("id", "status", "is_blocklisted", "annual_revenue")


def _company_facts_sql() -> str:
    """The company's facts for a decision: its columns and — one row each, else one row with
    NULL — its roles current on the day held by blocklisted persons.  Parameters:
    :func:`_company_facts_params`.  Run alone by :func:`company_facts` (the officer's submit)
    and as the tail of the partner's one statement (:func:`_facts_sql`); both read the rows
    with :func:`_company_facts_from`."""
    t = {m.__name__: f'"{m._meta.db_table}"' for m in (Company, RelatedParty, Person)}
    rp = {n: f'rp."{RelatedParty._meta.get_field(n).column}"' for n in ("company", "person")}
    return (
        f"SELECT {rawsql.columns(Company, _COMPANY_FIELDS, 'c')}, {rp['person']} "
        "FROM (SELECT 1 AS one) one "
        f'LEFT JOIN {t["Company"]} c ON c."{Company._meta.pk.column}" = %s '
        f'LEFT JOIN {t["RelatedParty"]} rp ON {rp["company"]} = c."{Company._meta.pk.column}" AND {role_current_on_sql("rp")} '
        f'AND {rp["person"]} IN (SELECT pe."{Person._meta.pk.column}" FROM {t["Person"]} pe '
        f'WHERE pe."{Person._meta.get_field("is_blocklisted").column}" = %s)'
    )


def _company_facts_params(company_id: int, as_of: datetime.date) -> list:
    day = connection.ops.adapt_datefield_value(as_of)
    return [company_id, day, day, True]


def _company_facts_converters() -> tuple:
    return rawsql.converters(Company, _COMPANY_FIELDS) + (None,)


def _company_facts_from(rows) -> decisioning.CompanyFacts | None:
    """The facts from the rows of :func:`_company_facts_sql` (its columns, already converted);
    None when there is no such company."""
    cid, status, is_blocklisted, revenue, _ = rows[0]
    if cid is None:
        return None
    return decisioning.CompanyFacts(
        company_id=cid, status=status, is_blocklisted=is_blocklisted, annual_revenue=revenue,
        blocklisted_person_ids=frozenset(r[-1] for r in rows if r[-1] is not None),
    )


_COMPANY_FACTS_SQL = _company_facts_sql()


def company_facts(*, company_id: int, as_of: datetime.date) -> decisioning.CompanyFacts | None:
    """What a decision knows of the company on ``as_of`` (one precompiled statement); the
    partner's path reads the same in its one statement.  None when there is no such company."""
    with connection.cursor() as cur:
        cur.execute(_COMPANY_FACTS_SQL, _company_facts_params(company_id, as_of))
        rows = cur.fetchall()
    convs = _company_facts_converters()
    return _company_facts_from([rawsql.convert(r, convs) for r in rows])


def _product_terms(product: LoanProduct) -> decisioning.ProductTerms:
    return decisioning.ProductTerms(
        code=product.code,
        min_amount=product.min_amount,
        max_amount=product.max_amount,
        min_term_months=product.min_term_months,
        max_term_months=product.max_term_months,
        min_score=product.min_score,
        rate_spread=product.rate_spread,
    )


def _fetch_scores(*, company_id: int, as_of: datetime.date, max_age_days: int):
    from scoring import api as scoring_api  # the one door into scoring

    try:
        return scoring_api.company_scores(company_id=company_id, as_of=as_of, max_age_days=max_age_days)
    except scoring_api.ScoringUnavailable as exc:
        raise DomainError(f"Scores are unavailable right now ({exc}); the application stays a draft.", code="scoring_unavailable") from exc


def _decide(*, company: decisioning.CompanyFacts, product: LoanProduct, amount, term_months: int, snapshot, bundle, as_of) -> decisioning.DecisionOutcome:
    """Gather the company's group exposure (one query) and run the engine.  Reads only:
    nothing here needs a lock (booking re-checks the group cap under locks)."""
    group_ids, open_limits = borrower_group_exposure(company_id=company.company_id, as_of=as_of)
    return decisioning.decide(
        policy=snapshot,
        product=_product_terms(product),
        request=decisioning.CreditRequest(amount=amount, term_months=term_months),
        company=company,
        group=decisioning.GroupExposure(company_ids=group_ids, open_limits=open_limits),
        scores=bundle,
        as_of=as_of,
    )


def _decision_note(result: decisioning.DecisionOutcome) -> str:
    codes = ", ".join(h.code for h in result.rule_hits if h.effect != decisioning.ADJUSTMENT)
    return (f"automated decision: {result.outcome}" + (f" ({codes})" if codes else ""))[:500]


def _record_automated(*, app: LoanApplication, result: decisioning.DecisionOutcome, policy: CreditPolicy, started: float | None = None) -> Decision:
    # One event path for every decision, whoever submitted it (officer or partner): receivers
    # (the partner's webhook) write their rows here, before the ledger lock is taken.
    events.application_decided.send(sender=LoanApplication, application=app, outcome=result.outcome)
    if app.status == S.REFERRED:  # the committee's case opens in this transaction (monitoring.committee)
        events.application_referred.send(sender=LoanApplication, application=app)
    return _record_decision(
        app=app,
        kind=Decision.Kind.AUTOMATED,
        outcome=result.outcome,
        policy=policy,
        model_versions=result.model_versions,
        score=result.score,
        tier=result.tier,
        limit=result.limit,
        annual_rate=result.annual_rate,
        inputs=result.inputs,
        outputs=result.outputs(),
        rule_hits=[h.as_dict() for h in result.rule_hits],
        reason_codes=list(result.reasons),
        actor=None,
        started=started,
    )


_DECIDED_FIELDS = ("status", "submitted_at", "decided_at", "score", "tier", "approved_limit", "annual_rate", "updated_at")


def application_submit(*, application_id: int, actor=None, as_of: datetime.date | None = None, scores=None) -> Decision:
    """draft → submitted → approved | declined | referred, in one transaction, with the
    decision record and its ledger entry.  ``scores`` is a test seam; production passes
    nothing and the scores come from ``scoring.api.company_scores``.

    Everything is read and decided before the transaction starts; the transaction is then
    one guarded UPDATE (``WHERE status = 'draft'``: it takes the row lock, and of two
    concurrent submits the second updates nothing and gets :class:`InvalidTransition`), the
    history rows, and — last, see ``ledger`` — the ledger entry and the decision row."""
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    app = (
        LoanApplication.objects.select_related("company", "product")
        .annotate(**active_policy_key())
        .filter(pk=application_id)
        .first()
    )
    if app is None:
        raise NotFound(f"Application #{application_id} does not exist.", field="application_id")
    _check(app, S.SUBMITTED)  # fail fast, before asking scoring; re-checked by the guarded UPDATE
    policy, snapshot = credit_policy_version(pk=app.active_policy_pk, created_at=app.active_policy_created_at)
    bundle = scores or _fetch_scores(company_id=app.company_id, as_of=as_of, max_age_days=policy.max_score_age_days)
    result = _decide(
        company=company_facts(company_id=app.company_id, as_of=as_of), product=app.product, amount=app.requested_amount, term_months=app.term_months,
        snapshot=snapshot, bundle=bundle, as_of=as_of,
    )
    to_status = OUTCOME_STATUS[result.outcome]
    if to_status not in TRANSITIONS[S.SUBMITTED]:  # pragma: no cover - table guard
        raise InvalidTransition(f"submitted cannot go to {to_status}")
    now = timezone.now()
    changes = {
        "status": to_status, "submitted_at": now, "decided_at": now, "score": result.score, "tier": result.tier,
        "approved_limit": result.limit, "annual_rate": result.annual_rate, "updated_at": now,
    }
    with transaction.atomic():
        if not LoanApplication.objects.filter(pk=app.pk, status=S.DRAFT).update(**changes):
            app.refresh_from_db(fields=["status"])  # someone moved it meanwhile
            _check(app, S.SUBMITTED)
            raise InvalidTransition(f"Application #{app.pk} is no longer a draft.", field="status")  # pragma: no cover
        for name, value in changes.items():
            setattr(app, name, value)
        # Two history rows: the officer's submit, then the engine's decision.
        ApplicationEvent.objects.bulk_create(
            [
                ApplicationEvent(application=app, from_status=S.DRAFT, to_status=S.SUBMITTED, actor_id=_actor_id(actor), note="submitted"),
                ApplicationEvent(application=app, from_status=S.SUBMITTED, to_status=to_status, note=_decision_note(result)),
            ]
        )
        return _record_automated(app=app, result=result, policy=policy, started=started)


class _NewApplicationFacts(NamedTuple):
    """Everything a new application is checked and decided on, from :func:`_new_application_facts`."""

    product: LoanProduct | None  # None: no such active product
    policy_key: tuple  # (pk, created_at) of the active policy version, (None, None) when none is
    company: decisioning.CompanyFacts | None  # None: no such company
    partner_exists: bool


_PRODUCT_FIELDS = tuple(f.attname for f in LoanProduct._meta.concrete_fields)


def _facts_sql(product_by: str) -> str:
    """One statement for the product (by ``code`` or ``id``), the active policy's key, whether
    the partner exists and — the company's facts, :func:`_company_facts_sql` as a derived
    table — the company with its current roles held by blocklisted persons.  Precompiled (see
    ``rawsql``): the partner API runs it for every application."""
    t = {m.__name__: f'"{m._meta.db_table}"' for m in (LoanProduct, CreditPolicy, Partner)}
    active = CreditPolicy._meta.get_field("is_active").column
    return (
        f"SELECT {rawsql.columns(LoanProduct, _PRODUCT_FIELDS, 'p')}, "
        f'(SELECT pol."id" FROM {t["CreditPolicy"]} pol WHERE pol."{active}" = %s LIMIT 1), '
        f'(SELECT pol."created_at" FROM {t["CreditPolicy"]} pol WHERE pol."{active}" = %s LIMIT 1), '
        f'EXISTS(SELECT 1 FROM {t["Partner"]} pa WHERE pa."id" = %s), f.* '
        "FROM (SELECT 1 AS one) one "
        f'LEFT JOIN {t["LoanProduct"]} p ON p."{LoanProduct._meta.get_field("is_active").column}" = %s '
        f'AND p."{LoanProduct._meta.get_field(product_by).column}" = %s '
        f"LEFT JOIN ({_company_facts_sql()}) f ON 1 = 1"
    )


_FACTS_SQL = {"code": _facts_sql("code"), "id": _facts_sql("id")}


def _new_application_facts(*, company_id, product_id, product_code, partner_id, as_of) -> _NewApplicationFacts:
    n_product = len(_PRODUCT_FIELDS)
    by, product_key = ("id", product_id) if product_id is not None else ("code", product_code)
    with connection.cursor() as cur:
        cur.execute(_FACTS_SQL[by], [True, True, partner_id, True, product_key, *_company_facts_params(company_id, as_of)])
        rows = cur.fetchall()
    first = rows[0]
    product = None
    if first[0] is not None:
        product = rawsql.instance(LoanProduct, _PRODUCT_FIELDS, first[:n_product], rawsql.converters(LoanProduct, _PRODUCT_FIELDS))
    policy_pk, policy_created_at, partner_exists = rawsql.convert(first[n_product:n_product + 3], _key_converters())
    facts_convs = _company_facts_converters()
    company = _company_facts_from([rawsql.convert(r[n_product + 3:], facts_convs) for r in rows])
    return _NewApplicationFacts(product, (policy_pk, policy_created_at), company, partner_exists)


def _key_converters() -> tuple:
    """Converters of the policy's key and the partner's existence (each part cached by ``rawsql``)."""
    return rawsql.converters(CreditPolicy, ("id", "created_at")) + rawsql.converters(Partner, ("is_active",))


def application_request_checked(*, requested_amount, term_months, product: LoanProduct | None = None) -> tuple[Decimal | None, dict[str, str]]:
    """The one check of what an application asks for, made by the service, the admin form and
    the partner API's serializer alike: the amount a decimal number above zero (to the cent),
    the term a whole number of months from 1 to ``MAX_TERM_MONTHS`` and, with the product
    known, within its range.  Returns (the amount as money or None, {field: message})."""
    errors: dict[str, str] = {}
    amount = None
    try:
        amount = money(requested_amount)
        if amount <= 0:
            errors["requested_amount"] = "The amount must be greater than zero."
    except (MoneyError, TypeError):
        errors["requested_amount"] = "The amount must be a decimal number."
    if isinstance(term_months, bool) or not isinstance(term_months, int):
        errors["term_months"] = "The term must be a whole number of months."
    elif product is not None and not (product.min_term_months <= term_months <= product.max_term_months):
        errors["term_months"] = (
            f"Term {term_months} months is outside the product's range "
            f"{product.min_term_months}–{product.max_term_months} months."
        )
    elif not 1 <= term_months <= MAX_TERM_MONTHS:
        errors["term_months"] = f"The term must be from 1 to {MAX_TERM_MONTHS} months."
    return (None if "requested_amount" in errors else amount), errors


def _new_application_checked(
    *, company_id, product_id, product_code, partner_id, requested_amount, term_months, as_of
) -> tuple[_NewApplicationFacts, Decimal]:
    """Read a new application's facts and validate its fields: (facts, amount), or a
    ValidationError naming every field at fault."""
    facts = _new_application_facts(
        company_id=company_id, product_id=product_id, product_code=product_code, partner_id=partner_id, as_of=as_of
    )
    errors: dict[str, str] = {}
    product = facts.product
    if product_id is None and not product_code:
        errors["product"] = "A product is required."
    elif product is None:
        errors["product"] = f"Unknown or inactive product: {product_code or product_id!s}."
    amount, request_errors = application_request_checked(requested_amount=requested_amount, term_months=term_months, product=product)
    errors.update(request_errors)
    if facts.company is None:
        errors["company"] = f"Company #{company_id} does not exist."
    if partner_id is not None and not facts.partner_exists:
        errors["partner"] = f"Partner #{partner_id} does not exist."
    if errors:
        raise ValidationError(errors)
    return facts, amount


def application_apply(
    *,
    company_id: int,
    requested_amount,
    term_months: int,
    product_id: int | None = None,
    product_code: str | None = None,
    purpose: str = "",
    partner_id: int | None = None,
    actor=None,
    as_of: datetime.date | None = None,
    scores=None,
) -> Decision:
    """Create and submit in one go (the partner API's path): validated, scored and decided
    before anything is written, then one transaction writes the application in its decided
    status, its three history rows (created, submitted, decided) and — last — the ledger
    entry and the decision.  A scoring outage or a validation error leaves nothing behind.
    Same history, same decision, same ledger entry and the same ``application_decided`` event
    as ``application_create`` followed by ``application_submit``; the draft just never exists
    outside the transaction."""
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    facts, amount = _new_application_checked(
        company_id=company_id, product_id=product_id, product_code=product_code, partner_id=partner_id,
        requested_amount=requested_amount, term_months=term_months, as_of=as_of,
    )
    product = facts.product
    policy, snapshot = credit_policy_version(pk=facts.policy_key[0], created_at=facts.policy_key[1])
    bundle = scores or _fetch_scores(company_id=company_id, as_of=as_of, max_age_days=policy.max_score_age_days)
    result = _decide(
        company=facts.company, product=product, amount=amount, term_months=term_months,
        snapshot=snapshot, bundle=bundle, as_of=as_of,
    )
    to_status = OUTCOME_STATUS[result.outcome]
    now = timezone.now()
    # No savepoint: nothing inside raises a domain error (all checks ran above), so a failure
    # here is the whole unit of work failing, and the caller's transaction with it.
    # The writes are precompiled INSERTs (``rawsql``): this is the partner API's hot path.
    with transaction.atomic(savepoint=False):
        app = LoanApplication(
            company_id=company_id, product=product, partner_id=partner_id, requested_amount=amount,
            term_months=term_months, purpose=purpose[:500], created_by=actor if _actor_id(actor) else None,
            maker=maker_of(actor=actor, partner_id=partner_id, system="application_apply"),
            status=to_status, submitted_at=now, decided_at=now, score=result.score, tier=result.tier,
            approved_limit=result.limit, annual_rate=result.annual_rate,
        )
        actor_id = _actor_id(actor)
        # The application and its history: one statement on PostgreSQL (see ``insert_together``).
        rawsql.insert_together(
            app,
            [
                ApplicationEvent(application=app, from_status="", to_status=S.DRAFT, actor_id=actor_id, note="created"),
                ApplicationEvent(application=app, from_status=S.DRAFT, to_status=S.SUBMITTED, actor_id=actor_id, note="submitted"),
                ApplicationEvent(application=app, from_status=S.SUBMITTED, to_status=to_status, note=_decision_note(result)),
            ],
            link="application",
        )
        return _record_automated(app=app, result=result, policy=policy, started=started)


def _record_decision(*, app, kind, outcome, policy, model_versions, score, tier, limit, annual_rate, inputs, outputs, rule_hits, reason_codes, actor, note="", started=None) -> Decision:
    """The decision row and its ledger entry (appended first, so the row can name its seq; on
    PostgreSQL both go in the entry's INSERT, see ``ledger_append``), counted for /metrics at
    commit (with its latency from ``started``, a ``time.perf_counter()``, when given)."""
    decision = Decision(
        application=app,
        kind=kind,
        outcome=outcome,
        policy=policy,
        policy_version=policy.version,
        model_versions=model_versions,
        score=score,
        tier=tier,
        approved_limit=limit,
        annual_rate=annual_rate,
        inputs=inputs,
        outputs=outputs,
        rule_hits=rule_hits,
        reason_codes=reason_codes,
        note=note[:500],
        decided_by=actor if _actor_id(actor) else None,
    )
    ledger_append(
        kind=f"decision.{kind}",
        subject=app,
        payload={
            "application_id": app.pk,
            "company_id": app.company_id,
            "outcome": outcome,
            "policy_version": policy.version,
            "model_versions": model_versions,
            "score": score,
            "tier": tier,
            "limit": limit,
            "annual_rate": annual_rate,
            "inputs": inputs,
            "outputs": outputs,
            "rule_hits": rule_hits,
            "reason_codes": reason_codes,
            "decided_by": _actor_id(actor),
            "note": note,
        },
        record=decision,
    )
    metrics.decision_recorded(
        kind=kind, outcome=outcome, channel="partner" if app.partner_id else "back_office", started=started
    )
    return decision


# --- the credit committee -------------------------------------------------------------------


def application_makers(app: LoanApplication) -> set[int]:
    """The users who made the application: its recorded maker, its creator and whoever
    submitted it.  None of them may decide it."""
    if not app.maker:
        raise DomainError(
            gettext("Application #%(id)s has no recorded maker; it cannot be decided under maker-checker.") % {"id": app.pk},
            field="maker", code="maker_missing",
        )
    ids = set(app.events.filter(to_status=S.SUBMITTED).exclude(actor__isnull=True).values_list("actor_id", flat=True))
    if app.created_by_id:
        ids.add(app.created_by_id)
    if app.maker.startswith("user:"):
        ids.add(int(app.maker.split(":", 1)[1]))
    return ids


def _committee_guard(app: LoanApplication, actor) -> None:
    if _actor_id(actor) is None:
        raise DomainError("A committee decision needs the deciding officer.", field="actor", code="actor_required")
    if actor.pk in application_makers(app):
        raise DomainError(
            "Maker-checker: the officer who created or submitted an application cannot decide it in committee.",
            field="actor",
            code="maker_checker",
        )


def _latest_automated(app: LoanApplication) -> Decision | None:
    return app.decisions.filter(kind=Decision.Kind.AUTOMATED).order_by("-id").first()


def application_committee_approve(
    *, application_id: int, actor, note: str = "", limit=None, annual_rate=None, reasons: list | None = None
) -> Decision:
    """referred → committee_approved.  The committee may lower the proposed limit or rate but
    never exceed the legal rate cap or the product maximum."""
    with transaction.atomic():
        app = _lock(application_id)
        _check(app, S.COMMITTEE_APPROVED)
        _committee_guard(app, actor)
        policy = credit_policy_active()
        auto = _latest_automated(app)
        proposed_limit = app.approved_limit or (auto.approved_limit if auto else None)
        final_limit = money(limit) if limit is not None else proposed_limit
        final_rate = rate(annual_rate) if annual_rate is not None else app.annual_rate
        errors = {}
        if final_limit is None or final_limit <= 0:
            errors["limit"] = "The committee must set a limit greater than zero."
        elif final_limit > app.product.max_amount:
            errors["limit"] = f"The limit cannot exceed the product maximum {app.product.max_amount}."
        elif final_limit > app.requested_amount:
            errors["limit"] = f"The limit cannot exceed the requested amount {app.requested_amount}."
        if final_rate is None or final_rate < 0:
            errors["annual_rate"] = "The committee must set an annual rate."
        elif final_rate > policy.legal_rate_cap:
            errors["annual_rate"] = f"The rate cannot exceed the legal cap {policy.legal_rate_cap}."
        if errors:
            raise ValidationError(errors)
        app.approved_limit, app.annual_rate, app.decided_at = final_limit, final_rate, timezone.now()
        _transition(app, S.COMMITTEE_APPROVED, actor=actor, note=note or "committee approved", extra_fields=["approved_limit", "annual_rate", "decided_at"])
        events.application_decided.send(sender=LoanApplication, application=app, outcome=decisioning.APPROVE, reasons=reasons or [])
        return _record_decision(
            app=app, kind=Decision.Kind.COMMITTEE, outcome=decisioning.APPROVE, policy=policy,
            model_versions=auto.model_versions if auto else {}, score=app.score, tier=app.tier,
            limit=final_limit, annual_rate=final_rate,
            inputs={"automated_decision_id": auto.pk if auto else None, "proposed_limit": None if proposed_limit is None else str(proposed_limit)},
            outputs={"outcome": "approve", "limit": str(final_limit), "annual_rate": str(final_rate)},
            rule_hits=auto.rule_hits if auto else [], reason_codes=[], actor=actor, note=note,
        )


def application_committee_decline(
    *, application_id: int, actor, note: str, reasons: list | None = None, lapsed: bool = False
) -> Decision:
    """referred → committee_declined; the note (the committee's reason) is required.
    ``lapsed``: the committee let its case lapse; nobody decided, so there is no actor."""
    if not note or not note.strip():
        raise ValidationError({"note": "A committee decline needs a reason."})
    with transaction.atomic():
        app = _lock(application_id)
        _check(app, S.COMMITTEE_DECLINED)
        if not (lapsed and actor is None):
            _committee_guard(app, actor)
        policy = credit_policy_active()
        auto = _latest_automated(app)
        app.approved_limit, app.annual_rate, app.decided_at = None, None, timezone.now()
        _transition(app, S.COMMITTEE_DECLINED, actor=actor, note=note, extra_fields=["approved_limit", "annual_rate", "decided_at"])
        events.application_decided.send(sender=LoanApplication, application=app, outcome=decisioning.DECLINE, reasons=reasons or [note])
        return _record_decision(
            app=app, kind=Decision.Kind.COMMITTEE, outcome=decisioning.DECLINE, policy=policy,
            model_versions=auto.model_versions if auto else {}, score=app.score, tier=app.tier,
            limit=None, annual_rate=None,
            inputs={"automated_decision_id": auto.pk if auto else None},
            outputs={"outcome": "decline"},
            rule_hits=(auto.rule_hits if auto else []) + [{"code": "COMMITTEE_DECLINE", "effect": "ineligible", "message": note}],
            reason_codes=auto.reason_codes if auto else [], actor=actor, note=note,
        )


# --- accept, book, withdraw, expire ----------------------------------------------------------


def _offer_expired(app: LoanApplication, policy: CreditPolicy, today: datetime.date) -> bool:
    decided = timezone.localtime(app.decided_at).date() if app.decided_at else today
    return (today - decided).days > policy.offer_validity_days


def application_accept(*, application_id: int, actor=None, as_of: datetime.date | None = None) -> LoanApplication:
    """approved | committee_approved → accepted (the borrower takes the offer)."""
    today = as_of or timezone.localdate()
    with transaction.atomic():
        app = _lock(application_id)
        _check(app, S.ACCEPTED)
        policy = credit_policy_active()
        if _offer_expired(app, policy, today):
            raise DomainError(
                f"The offer of application #{app.pk} lapsed after {policy.offer_validity_days} days.",
                code="offer_expired",
            )
        _transition(app, S.ACCEPTED, actor=actor, note="offer accepted")
        return app


@records_actor
def application_book(*, application_id: int, actor=None, opened_on: datetime.date | None = None) -> CreditLine:
    """accepted → booked: open the revolving credit line, re-checking the group cap with the
    group's companies locked in primary-key order (two bookings in one group serialise)."""
    opened_on = opened_on or timezone.localdate()
    with transaction.atomic():
        app = _lock(application_id)
        _check(app, S.BOOKED)
        value_dates.check_opened_on(opened_on, founded_on=app.company.founded_on)
        policy = credit_policy_active()
        group_ids, _ = borrower_group_exposure(company_id=app.company_id, as_of=opened_on)
        list(Company.objects.select_for_update().filter(pk__in=group_ids).order_by("pk").values_list("pk", flat=True))
        exposure = group_open_limits(company_ids=group_ids, as_of=opened_on)
        if exposure + app.approved_limit > policy.group_exposure_cap:
            raise DomainError(
                f"Booking {app.approved_limit} would take the borrower group's exposure to "
                f"{exposure + app.approved_limit}, above the cap of {policy.group_exposure_cap}.",
                field="approved_limit",
                code="group_exposure_cap",
            )
        line = CreditLine.objects.create(
            company_id=app.company_id,
            application=app,
            product=app.product,
            partner_id=app.partner_id,
            limit_amount=app.approved_limit,
            annual_rate=app.annual_rate,
            tier=app.tier,
            status=CreditLineStatus.ACTIVE,
            opened_on=opened_on,
            expires_on=add_months(opened_on, app.product.line_validity_months),
        )
        _transition(app, S.BOOKED, actor=actor, note=f"credit line #{line.pk} opened")
        return line


def application_withdraw(*, application_id: int, actor=None, note: str = "") -> LoanApplication:
    with transaction.atomic():
        app = _lock(application_id)
        _transition(app, S.WITHDRAWN, actor=actor, note=note or "withdrawn")
        return app


def applications_expire(*, as_of: datetime.date | None = None) -> int:
    """Expire offers (and committee referrals) older than the policy's offer validity."""
    today = as_of or timezone.localdate()
    policy = credit_policy_active()
    cutoff = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=policy.offer_validity_days), datetime.time.min))
    ids = list(LoanApplication.objects.filter(status__in=EXPIRING, decided_at__lt=cutoff).order_by("pk").values_list("pk", flat=True))
    for app_id in ids:
        with transaction.atomic():
            app = _lock(app_id)
            if app.status in EXPIRING:
                _transition(app, S.EXPIRED, note=f"offer lapsed after {policy.offer_validity_days} days")
    return len(ids)


__all__ = [
    "TRANSITIONS",
    "application_accept",
    "application_apply",
    "application_book",
    "application_committee_approve",
    "application_committee_decline",
    "application_create",
    "application_request_checked",
    "application_submit",
    "application_withdraw",
    "applications_expire",
]
