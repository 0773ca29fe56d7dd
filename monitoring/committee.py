"""The credit committee: cases, votes, outcomes and deadlines.

A case is one matter put to the committee: a referred application (kind ``application``, opened
in the referring transaction by :func:`on_application_referred`) or anything registered with
:func:`register_case_kind` (the post-loan work registers ``post_loan_action``).  Members vote
approve, approve with conditions, reject or ask for more information, each with a comment; one
vote per member, changeable while the case is open.  When the votes cast reach the quorum and
one side reaches the majority, the case closes and its kind's *applier* carries the decision
out through the owning app's services (for an application: ``application_committee_approve``
or ``..._decline``, which write the decision and its ledger entry); the case's close is
written to the ledger too.

Rules (the versioned credit policy, fixed on each case when it opens, so a case keeps the rules
it was opened under): ``committee_quorum`` (3 votes), ``committee_majority`` (2),
``committee_due_working_days`` (2: the case is due, then escalated) and the same again until it
lapses (an application is then declined with the committee's reason, and its partner gets the
decision webhook with it).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from loans import events
from loans.errors import DomainError, NotFound
from loans.models import LoanApplication
from loans.money import MoneyError, money, rate
from loans.services.ledger import ledger_append

from . import wording
from .models import ALERT_LIVE_STATUSES, APPROVING, Alert, CaseStatus, CommitteeCase, CommitteeVote, VoteChoice

VOTE_PERMISSION = "monitoring.vote"
OVERDUE_RULE = "committee_overdue"


def committee_rules() -> dict:
    """The committee's rules in the active credit policy (its constraints keep them sane:
    1 <= majority <= quorum, due time at least one working day)."""
    from loans.services.policy import credit_policy_active

    policy = credit_policy_active()
    return {"quorum": policy.committee_quorum, "majority": policy.committee_majority,
            "due_working_days": policy.committee_due_working_days, "policy_version": policy.version}


def add_working_days(start: datetime.datetime, days: int) -> datetime.datetime:
    """``start`` moved on by ``days`` working days (Monday to Friday)."""
    moved = start
    while days > 0:
        moved += datetime.timedelta(days=1)
        if moved.weekday() < 5:
            days -= 1
    return moved


# --- kinds of case --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseKind:
    """``opener(subject_id)`` → dict(title, maker, excluded_user_ids, application_id=None);
    ``applier(case, approved, actor, reason, terms)`` carries the outcome out (actor None when
    the case lapsed); ``conditions(case, limit, annual_rate)`` → {field: error} for conditions
    outside policy; ``memo(case)`` → the memo's sections (see :func:`application_memo`)."""

    name: str
    opener: Callable
    applier: Callable
    conditions: Callable | None = None
    memo: Callable | None = None


CASE_KINDS: dict[str, CaseKind] = {}


def register_case_kind(name: str, *, opener, applier, conditions=None, memo=None) -> CaseKind:
    kind = CaseKind(name=name, opener=opener, applier=applier, conditions=conditions, memo=memo)
    CASE_KINDS[name] = kind
    return kind


def case_kind(name: str) -> CaseKind:
    try:
        return CASE_KINDS[name]
    except KeyError:
        raise DomainError(_("Unknown kind of committee case: %(kind)s.") % {"kind": name}, field="kind", code="unknown_case_kind") from None


# --- open ----------------------------------------------------------------------------------


def committee_case_open(*, kind: str, subject_id: int, now: datetime.datetime | None = None) -> CommitteeCase:
    """Open the case for one subject (idempotent: the open case is returned if it exists)."""
    spec = case_kind(kind)
    existing = CommitteeCase.objects.filter(kind=kind, subject_id=subject_id).first()
    if existing is not None:
        return existing
    facts = spec.opener(subject_id)
    if not facts.get("maker"):
        raise DomainError(_("A committee case needs the maker of what it decides."), field="maker", code="maker_missing")
    rules = committee_rules()
    now = now or timezone.now()
    due = add_working_days(now, rules["due_working_days"])
    with transaction.atomic():
        case = CommitteeCase.objects.create(
            kind=kind, subject_id=subject_id, application_id=facts.get("application_id"),
            title=str(facts["title"])[:200], maker=facts["maker"],
            excluded_user_ids=sorted(set(facts.get("excluded_user_ids") or ())),
            quorum=rules["quorum"], majority=rules["majority"], policy_version=rules["policy_version"], opened_at=now, due_at=due,
            lapses_at=add_working_days(due, rules["due_working_days"]),
        )
    return case


# --- vote ----------------------------------------------------------------------------------


def _lock_case(case_id) -> CommitteeCase:
    try:
        return CommitteeCase.objects.select_for_update().get(pk=case_id)
    except (CommitteeCase.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Committee case #%(id)s does not exist.") % {"id": case_id}, field="case_id") from None


def may_vote(case: CommitteeCase, user) -> bool:
    return (
        user is not None and user.is_active and user.has_perm(VOTE_PERMISSION)
        and user.pk not in case.excluded_user_ids and case.maker != f"user:{user.pk}"
    )


def _check_voter(case: CommitteeCase, actor) -> None:
    if getattr(actor, "pk", None) is None or not actor.is_active or not actor.has_perm(VOTE_PERMISSION):
        raise DomainError(_("Only a member of the credit committee may vote."), field="actor", code="not_a_member")
    if case.maker == f"user:{actor.pk}" or actor.pk in case.excluded_user_ids:
        raise DomainError(
            _("Maker-checker: the maker of what is decided and the applicant's officer cannot vote on it."),
            field="actor", code="maker_checker",
        )


def _parse_conditions(choice, limit, annual_rate, required_security) -> tuple[Decimal | None, Decimal | None, str]:
    errors = {}
    parsed_limit = parsed_rate = None
    if limit not in (None, ""):
        try:
            parsed_limit = money(limit)
            if parsed_limit <= 0:
                errors["limit"] = _("The limit must be greater than zero.")
        except (MoneyError, InvalidOperation, TypeError, ValueError):
            errors["limit"] = _("The limit must be a decimal amount.")
    if annual_rate not in (None, ""):
        try:
            parsed_rate = rate(annual_rate)
            if parsed_rate < 0 or parsed_rate >= 1:
                errors["annual_rate"] = _("The rate must be an annual fraction between 0 and 1.")
        except (MoneyError, InvalidOperation, TypeError, ValueError):
            errors["annual_rate"] = _("The rate must be a decimal fraction.")
    security = (required_security or "").strip()
    if len(security) > 300:
        errors["required_security"] = _("At most 300 characters.")
    has_conditions = parsed_limit is not None or parsed_rate is not None or bool(security)
    if choice == VoteChoice.APPROVE_WITH_CONDITIONS and not has_conditions and not errors:
        errors["choice"] = _("An approval with conditions needs at least one condition (a limit, a rate or a required guarantee or collateral).")
    elif choice != VoteChoice.APPROVE_WITH_CONDITIONS and has_conditions:
        errors["choice"] = _("Conditions go with an approval with conditions only.")
    if errors:
        raise ValidationError(errors)
    return parsed_limit, parsed_rate, security


def committee_vote_cast(
    *, case_id: int, actor, choice: str, comment: str, limit=None, annual_rate=None, required_security: str = ""
) -> CommitteeVote:
    """Cast (or change) the actor's vote, then close the case if the votes decide it."""
    if choice not in VoteChoice.values:
        raise ValidationError({"choice": _("Not a vote: %(choice)s.") % {"choice": choice}})
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Every vote needs a comment.")})
    parsed_limit, parsed_rate, security = _parse_conditions(choice, limit, annual_rate, required_security)
    with transaction.atomic():
        case = _lock_case(case_id)
        if not case.is_open:
            raise DomainError(_("Case #%(id)s is closed (%(status)s); votes can no longer change.") % {
                "id": case.pk, "status": case.get_status_display()}, field="case_id", code="case_closed")
        _check_voter(case, actor)
        spec = case_kind(case.kind)
        if spec.conditions is not None and (parsed_limit is not None or parsed_rate is not None):
            errors = spec.conditions(case, parsed_limit, parsed_rate)
            if errors:
                raise ValidationError(errors)
        vote, _created = CommitteeVote.objects.update_or_create(
            case=case, member=actor,
            defaults={"choice": choice, "comment": comment[:4000], "limit": parsed_limit, "annual_rate": parsed_rate, "required_security": security},
        )
        _settle(case, actor)
    return vote


def committee_case_tally(case: CommitteeCase) -> dict:
    counts = {c: 0 for c in VoteChoice.values}
    for choice in case.votes.values_list("choice", flat=True):
        counts[choice] += 1
    total = sum(counts.values())
    approvals = counts[VoteChoice.APPROVE] + counts[VoteChoice.APPROVE_WITH_CONDITIONS]
    return {"counts": counts, "total": total, "approvals": approvals, "rejections": counts[VoteChoice.REJECT],
            "quorum": case.quorum, "majority": case.majority}


def _terms(votes: list[CommitteeVote]) -> dict:
    """The approving votes' conditions, combined prudently: the lowest limit, the highest rate,
    every required guarantee or collateral."""
    limits = [v.limit for v in votes if v.limit is not None]
    rates = [v.annual_rate for v in votes if v.annual_rate is not None]
    security = [v.required_security for v in votes if v.required_security]
    return {
        "limit": min(limits) if limits else None,
        "annual_rate": max(rates) if rates else None,
        "required_security": security,
    }


def _settle(case: CommitteeCase, actor) -> None:
    tally = committee_case_tally(case)
    if tally["total"] < case.quorum:
        return
    votes = list(case.votes.select_related("member").order_by("id"))
    comments = [f"{v.member.get_username()} ({v.get_choice_display()}): {v.comment}" for v in votes]
    if tally["approvals"] >= case.majority:
        terms = _terms([v for v in votes if v.choice in APPROVING])
        _close(case, CaseStatus.APPROVED, actor=actor, reason="; ".join(comments), terms=terms, reasons=comments)
    elif tally["rejections"] >= case.majority:
        rejecting = [c for v, c in zip(votes, comments) if v.choice == VoteChoice.REJECT]
        _close(case, CaseStatus.REJECTED, actor=actor, reason="; ".join(rejecting), terms={}, reasons=rejecting)


def _close(case: CommitteeCase, status: str, *, actor, reason: str, terms: dict, reasons: list[str]) -> None:
    """Close a locked case and carry its outcome out, in the caller's transaction."""
    case.status, case.closed_at = status, timezone.now()
    case.outcome_reason = reason[:4000]
    case.outcome_terms = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in terms.items()}
    case.save(update_fields=["status", "closed_at", "outcome_reason", "outcome_terms"])
    case_kind(case.kind).applier(case, status == CaseStatus.APPROVED, actor, reason, terms, reasons)
    ledger_append(
        kind="committee.case_closed",
        subject=case,
        payload={
            "case_id": case.pk, "kind": case.kind, "subject_id": case.subject_id, "status": status,
            "closed_by": getattr(actor, "pk", None), "reason": case.outcome_reason, "terms": case.outcome_terms,
            "votes": list(case.votes.order_by("id").values("member_id", "choice", "comment", "limit", "annual_rate", "required_security")),
        },
    )


# --- deadlines -----------------------------------------------------------------------------


def committee_cases_escalate(*, now: datetime.datetime | None = None) -> dict:
    """The nightly (or periodic) step: flag open cases past due (an alert to the risk
    managers) and lapse those past their lapse time (the application is declined with the
    committee's reason).  Idempotent."""
    now = now or timezone.now()
    escalated = lapsed = 0
    for case_id in CommitteeCase.objects.filter(status=CaseStatus.OPEN, escalated_at__isnull=True, due_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            case = _lock_case(case_id)
            if not case.is_open or case.escalated_at is not None:
                continue
            case.escalated_at = now
            case.save(update_fields=["escalated_at"])
            subject_kind, subject_id = ("company", case.application.company_id) if case.application_id else ("system", case.pk)
            today = timezone.localdate(now)
            detail = _("Committee case #%(id)s is overdue since %(due)s.") % {"id": case.pk, "due": case.due_at}
            live = Alert.objects.filter(
                subject_kind=subject_kind, subject_id=subject_id, rule=OVERDUE_RULE, status__in=ALERT_LIVE_STATUSES
            ).first()
            if live is None:  # one open alert per subject and rule; a repeat refreshes it
                Alert.objects.create(
                    subject_kind=subject_kind, subject_id=subject_id, rule=OVERDUE_RULE, severity="high",
                    company_id=case.application.company_id if case.application_id else None,
                    first_seen_on=today, last_seen_on=today, detail=detail, evidence={"case": case.pk},
                )
            else:
                live.detail, live.last_seen_on = detail, max(live.last_seen_on, today)
                live.save(update_fields=["detail", "last_seen_on"])
            escalated += 1
    for case_id in CommitteeCase.objects.filter(status=CaseStatus.OPEN, lapses_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            case = _lock_case(case_id)
            if not case.is_open:
                continue
            reason = _("The credit committee did not decide case #%(id)s by %(when)s; it lapsed.") % {"id": case.pk, "when": case.lapses_at}
            _close(case, CaseStatus.LAPSED, actor=None, reason=reason, terms={}, reasons=[reason])
            lapsed += 1
    return {"escalated": escalated, "lapsed": lapsed}


# --- selectors -----------------------------------------------------------------------------


def committee_queue(user) -> dict:
    """Open cases ``user`` may vote on: those waiting for the vote (overdue first, then by
    due time) and those already voted on (the vote may still change)."""
    if not user.has_perm(VOTE_PERMISSION):
        return {"waiting": [], "voted": []}
    cases = [c for c in CommitteeCase.objects.filter(status=CaseStatus.OPEN).order_by("due_at", "pk") if may_vote(c, user)]
    voted = set(CommitteeVote.objects.filter(member=user, case__in=cases).values_list("case_id", flat=True))
    return {"waiting": [c for c in cases if c.pk not in voted], "voted": [c for c in cases if c.pk in voted]}


def committee_case_titles(cases) -> list:
    """Give each case a ``display_title`` in the reader's language (the stored title is in the
    language of whoever opened the case): one query per kind of case, however many cases.
    Each case also gets ``alert_cleared_on``: for an escalated action, the day the warning
    behind it cleared by itself since (read now, not when the case opened), else None."""
    from .models import PostLoanAction

    cases = list(cases)
    apps = {a.pk: a for a in LoanApplication.objects.filter(pk__in=[c.subject_id for c in cases if c.kind == "application"])
            .select_related("company").only("pk", "company__legal_name")}
    actions = {a.pk: a for a in PostLoanAction.objects.filter(pk__in=[c.subject_id for c in cases if c.kind == "post_loan_action"])
               .select_related("company").only("pk", "kind", "alert_cleared_on", "company__legal_name")}
    for case in cases:
        app, action = apps.get(case.subject_id), actions.get(case.subject_id)
        case.alert_cleared_on = action.alert_cleared_on if case.kind == "post_loan_action" and action is not None else None
        if case.kind == "application" and app is not None:
            case.display_title = _("Referred application #%(id)s — %(company)s") % {"id": app.pk, "company": app.company.legal_name}
        elif case.kind == "post_loan_action" and action is not None:
            case.display_title = _("%(kind)s proposed for %(company)s (action #%(id)s)") % {
                "kind": action.get_kind_display(), "company": action.company.legal_name, "id": action.pk}
        else:
            case.display_title = case.title
    return cases


# --- the application kind ------------------------------------------------------------------


def _application_opener(application_id: int) -> dict:
    from loans.services.applications import application_makers

    app = LoanApplication.objects.select_related("company").get(pk=application_id)
    return {
        "title": _("Referred application #%(id)s — %(company)s") % {"id": app.pk, "company": app.company.legal_name},
        "maker": app.maker,
        "excluded_user_ids": application_makers(app),
        "application_id": app.pk,
    }


def _application_conditions(case: CommitteeCase, limit, annual_rate) -> dict:
    from loans.services.policy import credit_policy_active

    app = LoanApplication.objects.select_related("product").get(pk=case.subject_id)
    cap = credit_policy_active().legal_rate_cap
    errors = {}
    if limit is not None and limit > app.requested_amount:
        errors["limit"] = _("The limit %(limit)s is above the requested amount %(requested)s.") % {"limit": limit, "requested": app.requested_amount}
    elif limit is not None and limit > app.product.max_amount:
        errors["limit"] = _("The limit %(limit)s is above the product maximum %(max)s.") % {"limit": limit, "max": app.product.max_amount}
    if annual_rate is not None and annual_rate > cap:
        errors["annual_rate"] = _("The rate %(rate)s is above the legal cap %(cap)s.") % {"rate": annual_rate, "cap": cap}
    return errors


def _application_applier(case: CommitteeCase, approved: bool, actor, reason: str, terms: dict, reasons: list[str]) -> None:
    from loans.choices import ApplicationStatus
    from loans.services import applications as app_services

    status = LoanApplication.objects.filter(pk=case.subject_id).values_list("status", flat=True).first()
    if status != ApplicationStatus.REFERRED:
        if actor is None:  # lapsing a case whose application moved on (withdrawn, expired): nothing to do
            return
        raise DomainError(
            _("Application #%(id)s is no longer referred (%(status)s); the committee cannot decide it.") % {"id": case.subject_id, "status": status},
            field="case_id", code="subject_moved_on",
        )
    if approved:
        note = reason
        if terms.get("required_security"):
            note = _("Conditions: %(security)s. ") % {"security": "; ".join(terms["required_security"])} + note
        app_services.application_committee_approve(
            application_id=case.subject_id, actor=actor, note=note,
            limit=terms.get("limit"), annual_rate=terms.get("annual_rate"), reasons=reasons,
        )
    else:
        app_services.application_committee_decline(
            application_id=case.subject_id, actor=actor, note=reason or _("Declined by the credit committee."),
            reasons=reasons, lapsed=actor is None,
        )


def _application_memo(case: CommitteeCase) -> dict:
    from .memo import application_memo

    return application_memo(case.subject_id)


register_case_kind(
    "application", opener=_application_opener, applier=_application_applier,
    conditions=_application_conditions, memo=_application_memo,
)


@receiver(events.application_referred, dispatch_uid="monitoring.committee.application_referred")
def on_application_referred(sender, *, application, **kwargs):
    committee_case_open(kind="application", subject_id=application.pk)


# --- escalated post-loan actions (recall, restructure, write-off, cuts above 50 %) -------------


def _action_opener(action_id: int) -> dict:
    from .models import PostLoanAction

    action = PostLoanAction.objects.select_related("company").get(pk=action_id)
    return {
        "title": _("%(kind)s proposed for %(company)s (action #%(id)s)")
        % {"kind": action.get_kind_display(), "company": action.company.legal_name, "id": action.pk},
        # The proposer is the maker; a system proposal (the nightly policy) has no person to exclude.
        "maker": f"user:{action.proposed_by_id}" if action.proposed_by_id else "system:action_policy",
        "excluded_user_ids": [action.proposed_by_id] if action.proposed_by_id else [],
    }


def _action_applier(case: CommitteeCase, approved: bool, actor, reason: str, terms: dict, reasons: list[str]) -> None:
    from .actions import post_loan_action_committee_decide
    from .models import ActionStatus, PostLoanAction

    if actor is None:  # a lapsed case: the action is rejected for want of a decision
        PostLoanAction.objects.filter(pk=case.subject_id, status=ActionStatus.PENDING_COMMITTEE).update(
            status=ActionStatus.REJECTED, decided_at=timezone.now(), decision_note=(reason or "")[:500],
        )
        return
    post_loan_action_committee_decide(action_id=case.subject_id, approved=approved, actor=actor, reason=reason)
    if approved:
        # The committee's approval lands on the line or loan at once, executed by the member whose
        # vote decided it.  Should the terms no longer hold (the line was drawn meanwhile), the
        # action stays approved and waits in the risk manager's queue, where the reason shows.
        from .actions import post_loan_action_execute

        try:
            with transaction.atomic():
                post_loan_action_execute(action_id=case.subject_id, actor=actor)
        except (DomainError, ValidationError) as exc:
            note = _("Approved, not yet executed: %(why)s") % {"why": "; ".join(getattr(exc, "messages", None) or [str(exc)])}
            case.outcome_reason = f"{note} {case.outcome_reason}"[:4000]
            case.save(update_fields=["outcome_reason"])


def _action_memo(case: CommitteeCase) -> dict:
    from .models import PostLoanAction

    action = PostLoanAction.objects.select_related("company", "credit_line", "loan", "alert").get(pk=case.subject_id)
    from config.backoffice.formatting import format_money, format_rate

    line, loan = action.credit_line, action.loan
    labels = {"new_limit": _("new limit"), "limit_before": _("limit before"), "amount_needed": _("amount needed"),
              "due_date": _("due date"), "term_months": _("term (months)"), "interest_only_months": _("interest-only months"),
              "annual_rate": _("annual rate"), "watch_months": _("watch months"), "outstanding_principal": _("outstanding principal")}
    money_terms = {"new_limit", "limit_before", "amount_needed", "outstanding_principal"}
    terms = "; ".join(
        f"{labels.get(k, k)}: {format_money(v) if k in money_terms else format_rate(v) if k == 'annual_rate' else v}"
        for k, v in (action.params or {}).items()
    )
    rows = [
        (_("Action"), action.get_kind_display()), (_("Terms"), terms or "—"), (_("Reason"), action.reason),
        (_("Proposed by"), action.proposed_by or _("the system (action policy)")), (_("Company"), action.company.legal_name),
    ]
    if line is not None:
        rows += [(_("Credit line"), f"#{line.pk} {line.get_status_display()}"), (_("Limit"), format_money(line.limit_amount)),
                 (_("Drawn"), format_money(line.drawn_principal))]
    if loan is not None:
        rows += [(_("Loan"), f"#{loan.pk}"), (_("Outstanding principal"), format_money(loan.outstanding_principal)),
                 (_("Days past due"), loan.days_past_due), (_("Classification"), loan.get_classification_display())]
    if action.alert_id:
        alert = action.alert
        rows.append((_("Alert"), f"{wording.rule_label(alert.rule)} ({alert.get_severity_display()}) "
                                 f"{alert.first_seen_on}–{alert.last_seen_on}"))
    return {"sections": [{"title": _("The proposed action"), "rows": rows}]}


register_case_kind("post_loan_action", opener=_action_opener, applier=_action_applier, memo=_action_memo)


def committee_cases_open_for_actions() -> int:
    """Open a case for every action waiting in ``pending_committee`` without one (set-based
    read; the nightly proposals insert in bulk).  Returns how many were opened."""
    from .models import ActionStatus, PostLoanAction

    waiting = (
        PostLoanAction.objects.filter(status=ActionStatus.PENDING_COMMITTEE)
        .exclude(pk__in=CommitteeCase.objects.filter(kind="post_loan_action").values("subject_id"))
        .values_list("pk", flat=True)
    )
    opened = 0
    for action_id in list(waiting):
        committee_case_open(kind="post_loan_action", subject_id=action_id)
        opened += 1
    return opened


__all__ = [
    "CASE_KINDS", "add_working_days", "committee_case_open", "committee_case_titles", "committee_cases_open_for_actions", "committee_case_tally", "committee_cases_escalate",
    "committee_queue", "committee_rules", "committee_vote_cast", "may_vote", "register_case_kind",
]
