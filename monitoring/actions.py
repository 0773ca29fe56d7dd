"""Post-loan actions: propose, approve or reject (maker-checker or committee), execute.

* ``post_loan_action_propose`` validates the action's terms against the line or loan as they
  are now and records the proposal (``actor`` None: proposed by the system).  Recall,
  restructure, write-off and limit cuts above 50 % wait in ``pending_committee``.
* ``post_loan_action_approve`` / ``_reject``: whoever proposed may never approve (the database
  refuses it too, ``pla_approver_not_proposer``); an action is decided once.
* ``post_loan_action_committee_decide``: the credit committee's decision on a pending action.
* ``post_loan_action_execute``: in ONE transaction, with the action, the line and the loan
  locked, the effect on the line or loan (through the loan book's services, which record their
  own ledger entries and send ``credit_line.changed``), the action's ledger entry, and the
  ``post_loan_action.executed`` webhook to the owning partner (delivered after commit).
* ``post_loan_action_meet``: a collateral or guarantee request met by a pledge.

Every refusal is a ``DomainError`` or a field ``ValidationError`` raised before anything is
written, so a refused call changes nothing.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.history.records import acting_as
from loans.choices import CreditLineStatus, LoanStatus
from loans.errors import DomainError, InvalidTransition, NotFound
from loans.ledger_chain import LedgerKind
from loans.models import Collateral, CreditLine, Guarantee, Loan
from loans.money import MoneyError, money
from loans.services import lines as line_services
from loans.services import restructuring
from loans.services.ledger import ledger_append

from .models import (
    COMMITTEE_KINDS,
    LINE_KINDS,
    LOAN_KINDS,
    SECURITY_KINDS,
    ActionKind,
    ActionStatus,
    PostLoanAction,
)

COMMITTEE_CUT_SHARE = Decimal("0.50")  # a limit cut above this share of the limit goes to committee
MAX_RESTRUCTURE_TERM = 360


# --- validation of terms -------------------------------------------------------------------


def _amount(params: dict, key: str, *, required: bool = True) -> Decimal | None:
    if key not in params or params[key] in (None, ""):
        if required:
            raise ValidationError({f"params.{key}": _("This term is required.")})
        return None
    try:
        value = money(params[key])
    except (MoneyError, TypeError, InvalidOperation, ValueError):
        raise ValidationError({f"params.{key}": _("Must be a decimal amount.")}) from None
    return value


def _int(params: dict, key: str, *, default=None, low: int, high: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({f"params.{key}": _("Must be a whole number.")})
    if not (low <= value <= high):
        raise ValidationError({f"params.{key}": _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}})
    return value


def _date(params: dict, key: str) -> datetime.date:
    value = params.get(key)
    try:
        return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError({f"params.{key}": _("Must be a date (YYYY-MM-DD).")}) from None


def _new_limit(line: CreditLine, params: dict) -> Decimal:
    """reduce_limit takes ``new_limit`` or ``percent`` (the share to cut)."""
    pct = _cut_percent(params)
    if pct is not None:
        return money(line.limit_amount * (100 - pct) / 100)
    return _amount(params, "new_limit")


def _cut_percent(params: dict) -> Decimal | None:
    """A limit cut's terms: ``new_limit`` or ``percent`` (the share to cut, above 0 and at most
    100), never both; returns the percent, or None when the cut names a new limit."""
    if ("new_limit" in params) == ("percent" in params):
        raise ValidationError({"params": _("Give either new_limit or percent (the share of the limit to cut), not both.")})
    if "percent" not in params:
        return None
    try:
        pct = Decimal(str(params["percent"]))
    except InvalidOperation:
        raise ValidationError({"params.percent": _("Must be a number.")}) from None
    if not (0 < pct <= 100):
        raise ValidationError({"params.percent": _("Must be above 0 and at most 100.")})
    return pct


def validate_terms(*, kind: str, line: CreditLine | None, loan: Loan | None, params: dict, on: datetime.date) -> dict:
    """Check ``params`` for ``kind`` against the line and loan as they are now; returns the
    normalised terms (JSON-ready).  Raises ``ValidationError``/``DomainError``."""
    if not isinstance(params, dict):
        raise ValidationError({"params": _("Must be an object of terms.")})
    if line is not None and line.status == CreditLineStatus.CLOSED:
        raise DomainError(_("Credit line #%(id)s is closed; no action can be taken on it.") % {"id": line.pk},
                          field="credit_line", code="line_closed")
    if kind in LOAN_KINDS and (loan is None or loan.status != LoanStatus.ACTIVE or loan.outstanding_principal <= 0):
        state = loan.status if loan is not None else _("missing")
        raise DomainError(_("A %(kind)s needs an active loan with principal outstanding; the loan is %(state)s.")
                          % {"kind": kind, "state": state}, field="loan", code="loan_not_active")
    terms: dict = {}
    if kind == ActionKind.REDUCE_LIMIT:
        new = _new_limit(line, params)
        if new < 0:
            raise ValidationError({"params.new_limit": _("The new limit cannot be negative (%(v)s).") % {"v": new}})
        if new < line.drawn_principal:
            raise ValidationError({"params.new_limit": _("The new limit %(new)s is below the drawn balance %(drawn)s.")
                                   % {"new": new, "drawn": line.drawn_principal}})
        if new >= line.limit_amount:
            raise ValidationError({"params.new_limit": _("The new limit %(new)s is not below the current limit %(limit)s.")
                                   % {"new": new, "limit": line.limit_amount}})
        terms = {"new_limit": str(new), "limit_before": str(line.limit_amount)}
    elif kind == ActionKind.INCREASE_LIMIT:
        new = _amount(params, "new_limit")
        if new <= line.limit_amount or new > line.product.max_amount:
            raise ValidationError({"params.new_limit": _("The new limit must be above %(limit)s and at most the product's maximum %(max)s.")
                                   % {"limit": line.limit_amount, "max": line.product.max_amount}})
        _check_group_headroom(line, new - line.limit_amount, on)
        terms = {"new_limit": str(new), "limit_before": str(line.limit_amount)}
    elif kind == ActionKind.FREEZE_LINE:
        if line.status != CreditLineStatus.ACTIVE:
            raise DomainError(_("Credit line #%(id)s is %(status)s; only an active line can be frozen.") % {"id": line.pk, "status": line.status},
                              field="credit_line", code="invalid_transition")
    elif kind == ActionKind.UNFREEZE_LINE:
        if line.status != CreditLineStatus.FROZEN:
            raise DomainError(_("Credit line #%(id)s is %(status)s; only a frozen line can be unfrozen.") % {"id": line.pk, "status": line.status},
                              field="credit_line", code="invalid_transition")
        refusal = line_services._score_guard(line)
        if refusal:  # the reason for the protective freeze still holds
            raise DomainError(refusal, field="credit_line", code="score_below_minimum")
    elif kind in SECURITY_KINDS:
        params = _security_defaults(params, line, loan, on)
        needed = _amount(params, "amount_needed")
        if needed <= 0:
            raise ValidationError({"params.amount_needed": _("Must be greater than zero.")})
        due = _date(params, "due_date")
        if due <= on:
            raise ValidationError({"params.due_date": _("Must be after %(on)s.") % {"on": on}})
        terms = {"amount_needed": str(needed), "due_date": due.isoformat()}
    elif kind == ActionKind.RESTRUCTURE:
        term = _int(params, "term_months", low=1, high=MAX_RESTRUCTURE_TERM)
        io = _int(params, "interest_only_months", default=0, low=0, high=term - 1)
        try:
            rate = Decimal(str(params.get("annual_rate", loan.annual_rate)))
        except InvalidOperation:
            raise ValidationError({"params.annual_rate": _("Must be a decimal fraction (0.085 = 8.5 %).")}) from None
        if not (0 <= rate < Decimal("0.24")):
            raise ValidationError({"params.annual_rate": _("Must be at least 0 and below the legal cap 0.24.")})
        watch = _int(params, "watch_months", default=restructuring.DEFAULT_WATCH_MONTHS, low=1, high=36)
        terms = {"term_months": term, "interest_only_months": io, "annual_rate": str(rate), "watch_months": watch,
                 "outstanding_principal": str(loan.outstanding_principal)}
    elif kind in (ActionKind.RECALL, ActionKind.WRITE_OFF):
        if kind == ActionKind.RECALL and (refusal := restructuring.recall_refusal(loan, on)) is not None:
            raise refusal
        terms = {"outstanding_principal": str(loan.outstanding_principal)}
    else:  # pragma: no cover - the kinds are a closed list
        raise ValidationError({"kind": _("Unknown action kind %(kind)r.") % {"kind": kind}})
    return terms


def _security_defaults(params: dict, line: CreditLine, loan: Loan | None, on: datetime.date) -> dict:
    """A policy may ask for a share of the exposure (``percent_of_drawn``) by a number of days
    (``due_in_days``); they become an amount and a date against the line as it is now."""
    params = dict(params)
    if "amount_needed" not in params and "percent_of_drawn" in params:
        drawn = loan.outstanding_principal if loan is not None else line.drawn_principal
        try:
            pct = Decimal(str(params["percent_of_drawn"]))
        except InvalidOperation:
            raise ValidationError({"params.percent_of_drawn": _("Must be a number.")}) from None
        params["amount_needed"] = str(max(money(drawn * pct / 100), Decimal("0.01")))
    if "due_date" not in params and "due_in_days" in params:
        days = _int(params, "due_in_days", low=1, high=365)
        params["due_date"] = (on + datetime.timedelta(days=days)).isoformat()
    return params


def policy_params_check(kind: str, params) -> None:
    """The shape of a policy's recommended terms (checked when the policy is saved; the
    values are checked again against each line when the action is proposed)."""
    if not isinstance(params, dict):
        raise ValidationError({"params": _("Must be an object of terms.")})
    if kind == ActionKind.REDUCE_LIMIT:
        try:
            _cut_percent(params)
        except ValidationError as exc:  # the policy's form has one "params" field
            raise ValidationError({"params": [m for ms in exc.message_dict.values() for m in ms]}) from None
    elif kind == ActionKind.INCREASE_LIMIT:
        raise ValidationError({"action_kind": _("A limit increase is never proposed from a warning.")})
    elif kind in SECURITY_KINDS:
        if not ({"amount_needed", "percent_of_drawn"} & params.keys()) or not ({"due_date", "due_in_days"} & params.keys()):
            raise ValidationError({"params": _("Give amount_needed or percent_of_drawn, and due_in_days.")})
    elif kind == ActionKind.RESTRUCTURE:
        _int(params, "term_months", low=1, high=MAX_RESTRUCTURE_TERM)


def _check_group_headroom(line: CreditLine, increase: Decimal, on: datetime.date) -> None:
    from loans.services.groups import borrower_group_exposure
    from loans.services.policy import credit_policy_active

    cap = credit_policy_active().group_exposure_cap
    _ids, exposure = borrower_group_exposure(company_id=line.company_id, as_of=on)
    if exposure + increase > cap:
        raise ValidationError({"params.new_limit": _("The group's open limits %(exp)s plus %(inc)s would exceed the group cap %(cap)s.")
                               % {"exp": exposure, "inc": increase, "cap": cap}})


def needs_committee(kind: str, terms: dict) -> bool:
    if kind in COMMITTEE_KINDS:
        return True
    if kind == ActionKind.REDUCE_LIMIT:
        before, after = Decimal(terms["limit_before"]), Decimal(terms["new_limit"])
        return before > 0 and (before - after) / before > COMMITTEE_CUT_SHARE
    return False


# --- propose -------------------------------------------------------------------------------


def _subjects(kind: str, credit_line_id: int | None, loan_id: int | None, *, lock: bool) -> tuple[CreditLine | None, Loan | None]:
    if kind not in ActionKind.values:
        raise ValidationError({"kind": _("Unknown action kind %(kind)r.") % {"kind": kind}})
    loan = None
    if loan_id is not None:
        loan = Loan.objects.filter(pk=loan_id).first()
        if loan is None:
            raise NotFound(_("Loan #%(id)s does not exist.") % {"id": loan_id}, field="loan")
        if credit_line_id is not None and credit_line_id != loan.credit_line_id:
            raise ValidationError({"loan": _("Loan #%(id)s is not on credit line #%(line)s.") % {"id": loan_id, "line": credit_line_id}})
        credit_line_id = loan.credit_line_id
    if kind in LOAN_KINDS and loan is None:
        raise ValidationError({"loan": _("A %(kind)s acts on a loan: name the loan.") % {"kind": kind}})
    if credit_line_id is None:
        raise ValidationError({"credit_line": _("Name the credit line (or loan) the action is about.")})
    qs = CreditLine.objects.select_related("product", "company")
    line = (qs.select_for_update(of=("self",)) if lock else qs).filter(pk=credit_line_id).first()
    if line is None:
        raise NotFound(_("Credit line #%(id)s does not exist.") % {"id": credit_line_id}, field="credit_line")
    if lock and loan is not None:
        loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if kind in LINE_KINDS:
        loan = None  # a line action names the line only
    return line, loan


def post_loan_action_propose(
    *,
    kind: str,
    credit_line_id: int | None = None,
    loan_id: int | None = None,
    params: dict | None = None,
    reason: str = "",
    alert_id: int | None = None,
    actor=None,
    on: datetime.date | None = None,
) -> PostLoanAction:
    """Record a proposed action (``actor`` None: the system).  Terms are checked now and again
    at execution (the line may have moved in between)."""
    on = on or timezone.localdate()
    params = dict(params or {})
    line, loan = _subjects(kind, credit_line_id, loan_id, lock=False)
    terms = validate_terms(kind=kind, line=line, loan=loan, params=params, on=on)
    committee = needs_committee(kind, terms)
    action = PostLoanAction(
        kind=kind, company_id=line.company_id, credit_line=line, loan=loan, params=terms, reason=(reason or "")[:500],
        alert_id=alert_id, needs_committee=committee,
        status=ActionStatus.PENDING_COMMITTEE if committee else ActionStatus.PROPOSED,
        proposed_by=actor if getattr(actor, "pk", None) else None,
    )
    if kind in SECURITY_KINDS:
        action.amount_needed = Decimal(terms["amount_needed"])
        action.due_date = datetime.date.fromisoformat(terms["due_date"])
    action.save()
    if committee:
        from .committee import committee_case_open

        committee_case_open(kind="post_loan_action", subject_id=action.pk)
    return action


# --- decide --------------------------------------------------------------------------------


def _lock_action(action_id: int) -> PostLoanAction:
    """The action, locked, with its company joined (not locked): a refusal names the action in
    words (:func:`_named`) without another query.  (The system's protective freeze does not come
    here: it writes its action already approved, ``post_loan_action_system_execute``.)"""
    try:
        return PostLoanAction.objects.select_for_update(of=("self",)).select_related("company").get(pk=action_id)
    except PostLoanAction.DoesNotExist:
        raise NotFound(_("Post-loan action #%(id)s does not exist.") % {"id": action_id}, field="action_id") from None


def _named(action: PostLoanAction) -> str:
    """The action as the pages name it: "Freeze line — Hengyuan Logistics, credit line #151"."""
    from .wording import action_name

    return action_name(action)


def _require_person(actor, what: str) -> None:
    if not getattr(actor, "pk", None):
        raise DomainError(_("Only a person can %(what)s an action.") % {"what": what}, field="actor", code="actor_required")


def post_loan_action_approve(*, action_id: int, actor, note: str = "") -> PostLoanAction:
    """Maker-checker: a proposed action approved by someone other than its proposer."""
    _require_person(actor, _("approve"))
    with transaction.atomic():
        action = _lock_action(action_id)
        if action.status == ActionStatus.PENDING_COMMITTEE:
            raise InvalidTransition(_("%(action)s waits for the credit committee's decision.") % {"action": _named(action)},
                                    field="status")
        if action.status != ActionStatus.PROPOSED:
            raise InvalidTransition(_("%(action)s is already %(status)s; it is decided once.")
                                    % {"action": _named(action), "status": action.get_status_display()}, field="status")
        if action.proposed_by_id == actor.pk:
            raise DomainError(_("%(action)s: you proposed it; someone else must approve it.") % {"action": _named(action)},
                              field="approved_by", code="maker_checker")
        action.status, action.approved_by, action.approved_at = ActionStatus.APPROVED, actor, timezone.now()
        action.decided_at, action.decision_note = action.approved_at, (note or "")[:500]
        action.save(update_fields=["status", "approved_by", "approved_at", "decided_at", "decision_note", "updated_at"])
        return action


def post_loan_action_reject(*, action_id: int, actor, note: str = "") -> PostLoanAction:
    _require_person(actor, _("reject"))
    with transaction.atomic():
        action = _lock_action(action_id)
        if action.status != ActionStatus.PROPOSED:
            raise InvalidTransition(_("%(action)s is %(status)s; only a proposed action can be rejected here.")
                                    % {"action": _named(action), "status": action.get_status_display()}, field="status")
        action.status, action.rejected_by, action.decided_at = ActionStatus.REJECTED, actor, timezone.now()
        action.decision_note = (note or "")[:500]
        action.save(update_fields=["status", "rejected_by", "decided_at", "decision_note", "updated_at"])
        return action


def post_loan_action_cancel(*, action_id: int, actor, note: str = "") -> PostLoanAction:
    """The proposer (or anyone entitled) withdraws an action that is not yet executed."""
    with transaction.atomic():
        action = _lock_action(action_id)
        if action.status not in (ActionStatus.PROPOSED, ActionStatus.PENDING_COMMITTEE, ActionStatus.APPROVED):
            raise InvalidTransition(_("%(action)s is %(status)s; it cannot be cancelled.")
                                    % {"action": _named(action), "status": action.get_status_display()}, field="status")
        action.status, action.decided_at, action.decision_note = ActionStatus.CANCELLED, timezone.now(), (note or "")[:500]
        action.save(update_fields=["status", "decided_at", "decision_note", "updated_at"])
        return action


def post_loan_action_committee_decide(*, action_id: int, approved: bool, actor, reason: str = "") -> PostLoanAction:
    """The credit committee's decision on an action waiting in ``pending_committee`` (the
    committee cases call this once their vote is recorded)."""
    _require_person(actor, _("decide"))
    with transaction.atomic():
        action = _lock_action(action_id)
        if action.status != ActionStatus.PENDING_COMMITTEE:
            raise InvalidTransition(_("%(action)s is %(status)s; the committee decides only pending actions.")
                                    % {"action": _named(action), "status": action.get_status_display()}, field="status")
        now = timezone.now()
        if approved:
            if action.proposed_by_id == actor.pk:
                raise DomainError(_("%(action)s: its proposer cannot record the committee's approval.") % {"action": _named(action)},
                                  field="approved_by", code="maker_checker")
            action.status, action.approved_by, action.approved_at = ActionStatus.APPROVED, actor, now
        else:
            action.status, action.rejected_by = ActionStatus.REJECTED, actor
        action.decided_at, action.decision_note = now, (reason or "")[:500]
        action.save(update_fields=["status", "approved_by", "approved_at", "rejected_by", "decided_at", "decision_note", "updated_at"])
        return action


# --- execute -------------------------------------------------------------------------------


def _effect(action: PostLoanAction, line: CreditLine, loan: Loan | None, terms: dict, actor, on: datetime.date) -> dict:
    """Change the line or loan; returns what changed.  Runs inside the execution's transaction."""
    kind = action.kind
    if kind == ActionKind.REDUCE_LIMIT:
        after = line_services.credit_line_reduce_limit(credit_line_id=line.pk, new_limit=terms["new_limit"], actor=actor)
        return {"limit_before": str(line.limit_amount), "limit_after": str(after.limit_amount), "line_changed": True}
    if kind == ActionKind.INCREASE_LIMIT:
        after = line_services.credit_line_increase_limit(credit_line_id=line.pk, new_limit=terms["new_limit"], actor=actor)
        return {"limit_before": str(line.limit_amount), "limit_after": str(after.limit_amount), "line_changed": True}
    if kind == ActionKind.FREEZE_LINE:
        before = line.status
        line_services.credit_line_freeze(credit_line_id=line.pk, actor=actor, locked=line)
        return {"status_before": before, "status_after": CreditLineStatus.FROZEN, "line_changed": True}
    if kind == ActionKind.UNFREEZE_LINE:
        before = line.status
        line_services.credit_line_unfreeze(credit_line_id=line.pk, actor=actor, locked=line)
        return {"status_before": before, "status_after": CreditLineStatus.ACTIVE, "line_changed": True}
    if kind in SECURITY_KINDS:
        return {"requested": True, "amount_needed": terms["amount_needed"], "due_date": terms["due_date"], "line_changed": False}
    if kind == ActionKind.RESTRUCTURE:
        after = restructuring.loan_restructure(
            loan_id=loan.pk, term_months=terms["term_months"], annual_rate=terms["annual_rate"],
            interest_only_months=terms["interest_only_months"], effective_on=on, watch_months=terms["watch_months"], actor=actor,
        )
        return {"schedule_version": after.schedule_version, "principal_rescheduled": str(after.outstanding_principal),
                "maturity_date": after.maturity_date.isoformat(), "watch_until": after.watch_until.isoformat(), "line_changed": False}
    # Nothing more is lent on a line whose loan is recalled or written off: it is frozen too.
    if kind == ActionKind.RECALL:
        after = restructuring.loan_recall(loan_id=loan.pk, on=on, actor=actor)
        result = {"schedule_version": after.schedule_version, "due_on": on.isoformat(), "line_changed": False}
    elif kind == ActionKind.WRITE_OFF:
        restructuring.loan_write_off(loan_id=loan.pk, on=on, actor=actor)
        result = {"principal_written_off": str(loan.outstanding_principal), "line_changed": True}
    else:  # pragma: no cover - the kinds are a closed list
        raise ValidationError({"kind": _("Unknown action kind %(kind)r.") % {"kind": kind}})
    if line.status == CreditLineStatus.ACTIVE:
        line_services.credit_line_freeze(credit_line_id=line.pk, actor=actor)
        result.update(status_before=CreditLineStatus.ACTIVE, status_after=CreditLineStatus.FROZEN, line_changed=True)
    return result
    raise ValidationError({"kind": _("Unknown action kind %(kind)r.") % {"kind": kind}})  # pragma: no cover


def history_reason(action: PostLoanAction, actor) -> str:
    """What the change history of the line or loan says about an action's effect: the action,
    and, when the system acted (a protective freeze), why."""
    if getattr(actor, "pk", None):
        return f"post-loan action #{action.pk} ({action.kind})"
    return f"post-loan action #{action.pk} ({action.kind}) by the system: {action.reason}"


def post_loan_action_execute(*, action_id: int, actor=None, on: datetime.date | None = None) -> PostLoanAction:
    """Carry out an approved action (``actor`` None: the system).  One transaction: the effect,
    the ledger entries, the webhooks (sent after commit)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        action = _lock_action(action_id)
        if action.status != ActionStatus.APPROVED:
            raise InvalidTransition(_("%(action)s is %(status)s; only an approved action can be executed.")
                                    % {"action": _named(action), "status": action.get_status_display()}, field="status")
        # Lock order of the loan book: line, then loan.  The terms are checked again: the line
        # may have been drawn or changed since the proposal.
        line, loan = _subjects(action.kind, action.credit_line_id, action.loan_id, lock=True)
        terms = validate_terms(kind=action.kind, line=line, loan=loan, params=action.params, on=on)
        return _carry_out(action, line, loan, {**action.params, **terms}, actor, on)


def _carry_out(action: PostLoanAction, line: CreditLine, loan: Loan | None, terms: dict, actor, on: datetime.date) -> PostLoanAction:
    """The execution proper, inside the caller's transaction with the line (and loan) locked:
    the effect, the action marked executed, its webhook and ledger entry."""
    from loans.api.webhooks import webhook_emit

    try:
        # No savepoint of its own: a failure here fails the caller's whole transaction (the
        # execution is all or nothing), and on the protective freeze's path each statement counts.
        with transaction.atomic(savepoint=False), acting_as(actor, reason=history_reason(action, actor)):
            result = _effect(action, line, loan, terms, actor, on)
    except IntegrityError as exc:  # pragma: no cover - the checks above make this a backstop
        raise DomainError(str(exc), code="constraint") from exc
    action.status, action.executed_at = ActionStatus.EXECUTED, timezone.now()
    action.executed_by = actor if getattr(actor, "pk", None) else None
    action.result = result
    action.save(update_fields=["status", "executed_at", "executed_by", "result", "updated_at"])
    partner_id = loan.partner_id if loan is not None else line.partner_id
    webhook_emit(partner_id=partner_id, event_type="post_loan_action.executed", payload=action_payload(action))
    ledger_append(
        kind=LedgerKind.POST_LOAN_ACTION_EXECUTED, subject=action,
        payload={"action_id": action.pk, "kind": action.kind, "company_id": action.company_id,
                 "credit_line_id": action.credit_line_id, "loan_id": action.loan_id, "params": action.params,
                 "result": result, "proposed_by": action.proposed_by_id, "approved_by": action.approved_by_id,
                 "executed_by": action.executed_by_id, "alert_id": action.alert_id},
    )
    return action


def action_payload(action: PostLoanAction) -> dict:
    """What a partner reads about an action (webhook and API share it)."""
    return {
        "id": action.pk, "kind": action.kind, "status": action.status, "company_id": action.company_id,
        "credit_line_id": action.credit_line_id, "loan_id": action.loan_id, "params": action.params,
        "reason": action.reason, "due_date": action.due_date, "amount_needed": action.amount_needed,
        "executed_at": action.executed_at, "met_at": action.met_at,
        "by_system": action.proposed_by_id is None,
    }


def post_loan_action_system_execute(
    *, kind: str, credit_line_id: int, reason: str, on: datetime.date | None = None, alert_id: int | None = None,
    cause: str | None = None,
) -> PostLoanAction:
    """A protective action the system takes at once (a freeze): recorded as proposed and
    executed by the system (no person approves a protective freeze).  ``cause``: the warning
    rule that reports the same condition, kept in the terms (``params["cause"]``).

    The line is locked first and the action is written already approved, then carried out as
    any execution is (``_carry_out``): the same checks, effect, records and webhooks as a
    proposal approved and executed, without proposing, approving and re-reading the action in
    between (this runs in the request of event-driven rescoring: 23 statements became 13)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        line, loan = _subjects(kind, credit_line_id, None, lock=True)
        terms = validate_terms(kind=kind, line=line, loan=loan, params={}, on=on)
        if cause:
            terms = {**terms, "cause": cause}
        if needs_committee(kind, terms):  # pragma: no cover - the system only freezes
            raise DomainError(_("A %(kind)s needs the credit committee; the system cannot take it alone.") % {"kind": kind},
                              field="kind", code="needs_committee")
        action = PostLoanAction(
            kind=kind, company_id=line.company_id, credit_line=line, loan=loan, params=terms, reason=(reason or "")[:500],
            alert_id=alert_id, needs_committee=False, status=ActionStatus.APPROVED, approved_at=timezone.now(),
        )
        action.save()
        return _carry_out(action, line, loan, terms, None, on)


# --- collateral / guarantee met ------------------------------------------------------------


def post_loan_action_meet(*, action_id: int, collateral_id: int | None = None, guarantee_id: int | None = None, actor=None) -> PostLoanAction:
    """A requested collateral or guarantee has been pledged: the request is met when the pledge
    secures the action's line or loan and is worth at least what was asked."""
    with transaction.atomic():
        action = _lock_action(action_id)
        if action.kind not in SECURITY_KINDS:
            raise DomainError(_("%(action)s is not a collateral or guarantee request; only those are met by a pledge.")
                              % {"action": _named(action)}, field="action_id", code="not_a_request")
        if action.status != ActionStatus.EXECUTED:
            raise InvalidTransition(_("%(action)s is %(status)s; only a request that was sent can be met.")
                                    % {"action": _named(action), "status": action.get_status_display()}, field="status")
        if action.kind == ActionKind.REQUIRE_COLLATERAL:
            if collateral_id is None:
                raise ValidationError({"collateral_id": _("Name the collateral pledged.")})
            pledge = Collateral.objects.filter(pk=collateral_id).first()
            value = pledge.appraised_value * (100 - pledge.haircut_pct) / 100 if pledge else None
            field = "collateral_id"
        else:
            if guarantee_id is None:
                raise ValidationError({"guarantee_id": _("Name the guarantee pledged.")})
            pledge = Guarantee.objects.filter(pk=guarantee_id).first()
            value = pledge.amount if pledge else None
            field = "guarantee_id"
        if pledge is None:
            raise NotFound(_("The pledge does not exist."), field=field)
        if not ((action.loan_id and pledge.loan_id == action.loan_id) or pledge.credit_line_id == action.credit_line_id):
            raise ValidationError({field: _("The pledge does not secure this action's line or loan.")})
        if money(value) < action.amount_needed:
            raise ValidationError({field: _("The pledge is worth %(value)s after haircut; %(needed)s is needed.")
                                   % {"value": money(value), "needed": action.amount_needed}})
        action.status, action.met_at = ActionStatus.MET, timezone.now()
        if action.kind == ActionKind.REQUIRE_COLLATERAL:
            action.met_by_collateral = pledge
        else:
            action.met_by_guarantee = pledge
        action.save(update_fields=["status", "met_at", "met_by_collateral", "met_by_guarantee", "updated_at"])
        ledger_append(
            kind=LedgerKind.POST_LOAN_ACTION_EXECUTED, subject=action,
            payload={"action_id": action.pk, "kind": action.kind, "met": True, field: pledge.pk,
                     "value": money(value), "actor_id": getattr(actor, "pk", None)},
        )
        return action


def post_loan_action_pledge(*, action_id: int, partner_id: int | None = None, collateral: dict | None = None,
                            guarantee: dict | None = None, actor=None) -> PostLoanAction:
    """A partner answers a collateral or guarantee request: the pledge is recorded on the
    action's line (or loan) and meets the request, in one transaction (a pledge worth too little
    is refused and nothing is saved)."""
    from loans.models import Company, Person

    with transaction.atomic():
        action = _lock_action(action_id)
        if partner_id is not None and not Company.objects.filter(pk=action.company_id, partner_id=partner_id).exists():
            raise NotFound(_("Post-loan action #%(id)s does not exist.") % {"id": action_id}, field="action_id")
        if action.kind not in SECURITY_KINDS or action.status != ActionStatus.EXECUTED:
            raise InvalidTransition(_("%(action)s (%(status)s) is not an open collateral or guarantee request.")
                                    % {"action": _named(action), "status": action.get_status_display()}, field="status")
        secures = {"credit_line_id": action.credit_line_id, "loan_id": action.loan_id}
        if action.kind == ActionKind.REQUIRE_COLLATERAL:
            if not collateral:
                raise ValidationError({"collateral": _("A collateral request is answered with collateral.")})
            pledge = Collateral(owner_id=action.company_id, **collateral, **secures)
            pledge.full_clean(exclude=["owner", "credit_line", "loan"])
            pledge.save()
            return post_loan_action_meet(action_id=action.pk, collateral_id=pledge.pk, actor=actor)
        if not guarantee:
            raise ValidationError({"guarantee": _("A guarantee request is answered with a guarantee.")})
        person_id, company_id = guarantee.get("guarantor_person"), guarantee.get("guarantor_company")
        if (person_id is None) == (company_id is None):
            raise ValidationError({"guarantee": _("Name exactly one guarantor: a person or a company.")})
        if person_id is not None and not Person.objects.filter(pk=person_id, partner_id=partner_id).exists():
            raise ValidationError({"guarantee.guarantor_person": _("No such person among your borrowers' files.")})
        if company_id is not None and (company_id == action.company_id or not Company.objects.filter(pk=company_id, partner_id=partner_id).exists()):
            raise ValidationError({"guarantee.guarantor_company": _("No such company among your borrowers (and not the borrower itself).")})
        pledge = Guarantee.objects.create(guarantor_person_id=person_id, guarantor_company_id=company_id,
                                          amount=money(guarantee["amount"]), **secures)
        return post_loan_action_meet(action_id=action.pk, guarantee_id=pledge.pk, actor=actor)


# --- selectors -----------------------------------------------------------------------------


def actions_awaiting_approval(user, *, limit: int = 200):
    """Proposed actions ``user`` may decide (maker-checker: never their own proposals), most
    severe warning first, then the oldest; and approved actions still to be executed."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import SEVERITY_ORDER

    severity_rank = Case(
        *[When(alert__severity=severity, then=Value(rank)) for rank, severity in enumerate(SEVERITY_ORDER)],
        default=Value(len(SEVERITY_ORDER)), output_field=IntegerField(),
    )
    base = PostLoanAction.objects.select_related("company", "credit_line", "loan", "alert", "proposed_by", "approved_by")
    waiting = (
        base.filter(status=ActionStatus.PROPOSED).exclude(proposed_by=getattr(user, "pk", None))
        .annotate(severity_rank=severity_rank).order_by("severity_rank", "proposed_at", "pk")
    )
    approved = base.filter(status=ActionStatus.APPROVED).order_by("approved_at", "pk")
    return {"waiting": list(waiting[:limit]), "waiting_count": waiting.count(), "approved": list(approved[:limit])}
