"""Alerts and post-loan actions in words, for every page that shows them.

One place for: a warning rule's name (:func:`rule_label`), an alert's subject by name with a
link (:func:`alert_subject`), what an alert's evidence says (:func:`evidence_rows`), an
action's terms (:func:`action_terms`) and what its execution changed (:func:`result_text`).
The list, the risk manager's queue, the detail pages, the company page, the dashboard and the
admin's log all read them here, so an alert never reads "score_drop on company #210".

Links are reversed from the models' ``_meta`` (the borrower models may move between apps).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext_lazy, pgettext
from django.utils.translation import gettext as _

from config.backoffice.formatting import EMPTY, format_date, format_money, format_rate

# The rules' names, as officers say them (the codes stay in the database and the API).
RULE_LABELS = {
    "score_drop": gettext_lazy("Score drop"),
    "tier_downgrade": gettext_lazy("Tier downgrade"),
    "below_minimum": gettext_lazy("Score below the minimum"),
    "related_party_deterioration": gettext_lazy("Related party deteriorated"),
    "dpd_over": gettext_lazy("Days past due"),
    "dpd": gettext_lazy("Days past due"),
    "default_contagion": gettext_lazy("Default in the group"),
    "line_expiry": gettext_lazy("Credit line expiring"),
    "company_red_flags": gettext_lazy("Company red flags"),
    "guarantor_deterioration": gettext_lazy("Guarantor deteriorated"),
    "collateral_coverage": gettext_lazy("Collateral coverage short"),
    "committee_overdue": gettext_lazy("Committee case overdue"),
    "ledger_verification_failed": gettext_lazy("Ledger verification failed"),
    "model_drift": gettext_lazy("Model drift"),
}


def rule_label(code: str) -> str:
    return str(RULE_LABELS.get(code, code))


def admin_change_url(model, pk) -> str | None:
    """The admin page of ``model``'s row ``pk``, named from the model's own ``_meta``."""
    opts = model._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(pk)])
    except NoReverseMatch:
        return None


def _page_url(name: str, pk) -> str | None:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return None


def _link(url: str | None, text) -> str:
    return format_html('<a class="bo-link" href="{}">{}</a>', url, text) if url else format_html("{}", text)


# --- an alert's subject ------------------------------------------------------------------


def alert_subject(alert, *, person_name: str | None = None) -> tuple[str, str | None]:
    """(name, url) of what the alert is about.  The company is read through ``alert.company``
    (select it with the rows); a person's name is ``person_name`` or the row's ``person_name``
    annotation, else one query."""
    from loans.models import Company, CreditLine, Loan, Person

    kind, sid = alert.subject_kind, alert.subject_id
    company = alert.company if alert.company_id else None
    if kind == "system":
        return str(capfirst(_("the system"))), None
    if kind == "company":
        name = company.legal_name if company is not None else _("Company #%(id)s") % {"id": sid}
        return name, admin_change_url(Company, sid)
    if kind == "person":
        name = person_name or getattr(alert, "person_name", None)
        if name is None:
            name = Person.objects.filter(pk=sid).values_list("name", flat=True).first()
        return name or _("Person #%(id)s") % {"id": sid}, admin_change_url(Person, sid)
    model, noun = (CreditLine, _("credit line")) if kind == "line" else (Loan, _("loan"))
    label = f"{noun} #{sid}"
    if company is not None:
        label = _("%(company)s, %(what)s") % {"company": company.legal_name, "what": label}
    return str(capfirst(label)), admin_change_url(model, sid)


def alert_name(alert, **kwargs) -> str:
    """ "Score drop — Hengyuan Logistics": the rule's name and the subject's."""
    return f"{rule_label(alert.rule)} — {alert_subject(alert, **kwargs)[0]}"


def alert_subject_link(alert, **kwargs) -> str:
    name, url = alert_subject(alert, **kwargs)
    return _link(url, name)


def alert_link(alert, **kwargs) -> str:
    """The alert by name, linked to its page."""
    from .models import Alert

    return _link(admin_change_url(Alert, alert.pk), alert_name(alert, **kwargs))


# --- an alert's evidence -------------------------------------------------------------------

_MONEY = {"limit", "outstanding", "penalty", "drawn", "lending_value", "required", "guaranteed"}
_EVIDENCE_LABELS = {
    "score_before": gettext_lazy("Score before"),
    "score_after": gettext_lazy("Score now"),
    "drop": gettext_lazy("Points lost"),
    "days": gettext_lazy("Within days"),
    "min_score": gettext_lazy("Minimum score"),
    "tier_before": gettext_lazy("Tier before"),
    "tier_after": gettext_lazy("Tier now"),
    "reason_codes": gettext_lazy("Reasons"),
    "limit": gettext_lazy("Credit limit"),
    "outstanding": gettext_lazy("Outstanding principal"),
    "penalty": gettext_lazy("Penalty interest"),
    "drawn": gettext_lazy("Drawn"),
    "persons": gettext_lazy("Persons"),
    "person_default": gettext_lazy("A person in default"),
    "worst_drop": gettext_lazy("Largest score drop"),
    "lowest_score": gettext_lazy("Lowest score"),
    "reason": gettext_lazy("Why"),
    "dpd": gettext_lazy("Days past due"),
    "bucket": gettext_lazy("Bucket"),
    "classification": gettext_lazy("Classification"),
    "source_loans": gettext_lazy("Loans in default"),
    "source_companies": gettext_lazy("Companies in default"),
    "expires_on": gettext_lazy("Expires on"),
    "days_left": gettext_lazy("Days left"),
    "line_status": gettext_lazy("Line status"),
    "data_as_of": gettext_lazy("Data as of"),
    "compared_with": gettext_lazy("Compared with"),
    "new_lawsuits": gettext_lazy("New lawsuits"),
    "new_penalties": gettext_lazy("New administrative penalties"),
    "revenue_trend": gettext_lazy("Revenue trend"),
    "overdue_payables_ratio": gettext_lazy("Overdue payables ratio"),
    "flags": gettext_lazy("Red flags"),
    "guarantees": gettext_lazy("Guarantees"),
    "guarantor_default": gettext_lazy("A guarantor in default"),
    "guaranteed": gettext_lazy("Amount guaranteed"),
    "lending_value": gettext_lazy("Lending value of the collateral"),
    "required": gettext_lazy("Required"),
    "coverage": gettext_lazy("Coverage"),
    "min_ratio": gettext_lazy("Minimum coverage"),
    "valued_on": gettext_lazy("Valued on"),
    "case": gettext_lazy("Committee case"),
    "detail": gettext_lazy("Detail"),
}
_FLAG_LABELS = {
    "lawsuits": gettext_lazy("new lawsuits"),
    "penalties": gettext_lazy("new penalties"),
    "revenue_down": gettext_lazy("revenue down"),
    "overdue_payables": gettext_lazy("overdue payables"),
}
_REASON_LABELS = {
    "related_party_default": gettext_lazy("a related party is in default"),
    "related_party_score_drop": gettext_lazy("a related party's score dropped"),
}


def _ids(value) -> list[int]:
    if not isinstance(value, list | tuple):
        value = [value]
    out = []
    for v in value:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            continue
    return out


def _named_links(model, ids, label_field, page=None, limit=10) -> str:
    rows = dict(model.objects.filter(pk__in=ids[:limit]).values_list("pk", label_field)) if ids else {}
    links = []
    for pk in ids[:limit]:
        url = _page_url(page, pk) if page else admin_change_url(model, pk)
        links.append((url, rows.get(pk) or f"{capfirst(model._meta.verbose_name)} #{pk}"))
    more = format_html(" … (+{})", len(ids) - limit) if len(ids) > limit else ""
    return format_html("{}{}", format_html_join(", ", '<a class="bo-link" href="{}">{}</a>', links), more)


def _numbered_links(model, ids, limit=10) -> str:
    noun = capfirst(model._meta.verbose_name)
    links = [(admin_change_url(model, pk), f"{noun} #{pk}") for pk in ids[:limit]]
    more = format_html(" … (+{})", len(ids) - limit) if len(ids) > limit else ""
    return format_html("{}{}", format_html_join(", ", '<a class="bo-link" href="{}">{}</a>', links), more)


def _yes_no(value) -> str:
    return _("yes") if value in (True, 1, "true", "1") else _("no")


def _ratio(value) -> str:
    try:
        return format_rate(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _reasons(codes) -> str:
    """Reason codes in the reader's language, with the points each lost.  The rules copy a
    score's codes as the scorer writes them ([{code, points_lost}]); a bare code reads too."""
    from scoring.reasons import texts_for

    chinese = (get_language() or "").startswith("zh")
    words = []
    for c in codes or []:
        code, lost = (c.get("code"), c.get("points_lost")) if isinstance(c, dict) else (c, None)
        text = texts_for(str(code))[1 if chinese else 0]
        try:
            words.append(f"{text} (−{float(lost):.1f})" if lost is not None else text)
        except (TypeError, ValueError):  # a malformed figure: the text alone, never a 500
            words.append(text)
    return "; ".join(words) or EMPTY


def _evidence_value(key: str, value):
    from loans.choices import Bucket, Classification, CreditLineStatus
    from loans.models import Company, Guarantee, Loan, Person

    from .models import CommitteeCase

    if value is None or value == "" or value == []:
        return EMPTY
    if key in _MONEY:
        try:
            return format_money(value)
        except Exception:  # a malformed figure is shown as written, never a 500
            return str(value)
    if key == "persons":
        return _named_links(Person, _ids(value), "name")
    if key == "source_companies":
        return _named_links(Company, _ids(value), "legal_name")
    if key == "source_loans":
        return _numbered_links(Loan, _ids(value))
    if key == "guarantees":
        return _numbered_links(Guarantee, _ids(value))
    if key == "case":
        ids = _ids(value)
        title = CommitteeCase.objects.filter(pk__in=ids).values_list("title", flat=True).first() if ids else None
        return _link(_page_url("admin:monitoring_committeecase_case", ids[0]) if ids else None, title or value)
    if key in ("person_default", "guarantor_default"):
        return _yes_no(value)
    if key == "reason_codes":
        return _reasons(value)
    if key == "reason":
        return str(_REASON_LABELS.get(value, value))
    if key == "bucket":
        return str(Bucket(value).label) if value in Bucket.values else str(value)
    if key == "classification":
        return str(Classification(value).label) if value in Classification.values else str(value)
    if key == "line_status":
        return str(CreditLineStatus(value).label) if value in CreditLineStatus.values else str(value)
    if key in ("coverage", "min_ratio", "overdue_payables_ratio", "revenue_trend"):
        return _ratio(value)
    if key in ("expires_on", "data_as_of", "compared_with", "valued_on"):
        return format_date(value)
    if key == "flags" and isinstance(value, dict):
        return ", ".join(str(_FLAG_LABELS.get(k, k)) for k, v in value.items() if v) or EMPTY
    return str(value)


def evidence_rows(evidence) -> list[tuple[str, str]]:
    """[(label, value)] of what the rule saw, in words; keys without a label keep their name."""
    if not isinstance(evidence, dict):
        return [(str(_("Detail")), str(evidence))] if evidence else []
    return [(str(_EVIDENCE_LABELS.get(k, k.replace("_", " "))), _evidence_value(k, v)) for k, v in evidence.items()]


def evidence_table(evidence) -> str:
    rows = evidence_rows(evidence)
    if not rows:
        return EMPTY
    return format_html(
        '<table class="bo-evidence">{}</table>',
        format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows),
    )


def alert_summary(alert) -> str:
    """One line for a checker: the rule, the severity, the scores, the finding."""
    parts = [rule_label(alert.rule), str(alert.get_severity_display())]
    if alert.old_score is not None and alert.new_score is not None:
        parts.append(f"{alert.old_score} → {alert.new_score}")
    if alert.detail:
        parts.append(alert.detail[:160])
    return " · ".join(parts)


# --- a post-loan action's terms ------------------------------------------------------------


def _dec(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def _percent_of(part: Decimal, whole: Decimal) -> str:
    share = (part / whole * 100).quantize(Decimal("0.1"))
    return f"{share.normalize():f}"


def action_terms(kind: str, params: dict | None) -> str:
    """An action's terms as a sentence: "Reduce the limit by 30 % — from ¥200,000.00 to
    ¥140,000.00".  Reads the normalised terms (``actions.validate_terms``); an action proposed
    before they were normalised shows what it has."""
    from .models import ActionKind

    p = params or {}
    new, before = _dec(p.get("new_limit")), _dec(p.get("limit_before"))
    if kind in (ActionKind.REDUCE_LIMIT, ActionKind.INCREASE_LIMIT) and new is not None:
        if before:
            cut = kind == ActionKind.REDUCE_LIMIT
            text = (
                _("Reduce the limit by %(pct)s %% — from %(before)s to %(after)s")
                if cut
                else _("Raise the limit by %(pct)s %% — from %(before)s to %(after)s")
            )
            return text % {
                "pct": _percent_of(abs(before - new), before),
                "before": format_money(before),
                "after": format_money(new),
            }
        return _("New limit %(after)s") % {"after": format_money(new)}
    if kind == ActionKind.REDUCE_LIMIT and "percent" in p:
        return _("Reduce the limit by %(pct)s %%") % {"pct": p["percent"]}
    if kind == ActionKind.FREEZE_LINE:
        return _("Freeze the line: no new drawdowns")
    if kind == ActionKind.UNFREEZE_LINE:
        return _("Unfreeze the line: drawdowns allowed again")
    if kind in (ActionKind.REQUIRE_COLLATERAL, ActionKind.ADD_GUARANTEE) and "amount_needed" in p:
        text = (
            _("Collateral worth %(amount)s, pledged by %(date)s")
            if kind == ActionKind.REQUIRE_COLLATERAL
            else _("A guarantee of %(amount)s, signed by %(date)s")
        )
        return text % {"amount": format_money(p["amount_needed"]), "date": format_date(p.get("due_date"))}
    if kind == ActionKind.RESTRUCTURE and "term_months" in p:
        parts = [
            _("New schedule: %(n)s months at %(rate)s a year")
            % {"n": p["term_months"], "rate": format_rate(p.get("annual_rate"))}
        ]
        if p.get("interest_only_months"):
            parts.append(_("the first %(n)s months interest only") % {"n": p["interest_only_months"]})
        if p.get("outstanding_principal") not in (None, ""):
            parts.append(_("on %(amount)s outstanding") % {"amount": format_money(p["outstanding_principal"])})
        if p.get("watch_months"):
            parts.append(_("watched for %(n)s months") % {"n": p["watch_months"]})
        # the separator is a word too: Chinese writes a full-width comma
        return pgettext("list separator", ", ").join(str(x) for x in parts)
    if kind == ActionKind.RECALL and p.get("outstanding_principal") not in (None, ""):
        return _("Recall the loan: %(amount)s outstanding due at once") % {
            "amount": format_money(p["outstanding_principal"])
        }
    if kind == ActionKind.WRITE_OFF and p.get("outstanding_principal") not in (None, ""):
        return _("Write off %(amount)s of principal") % {"amount": format_money(p["outstanding_principal"])}
    if p.get("outstanding_principal") not in (None, ""):
        return _("outstanding %(amount)s") % {"amount": format_money(p["outstanding_principal"])}
    return ""


def policy_terms(kind: str, params: dict | None) -> str:
    """An action policy's recommended terms in words: "Cut the limit by 30 %", "20 % of the
    drawn balance, within 30 days".  A policy's terms are shares and day counts
    (``actions.policy_params_check``); they become amounts and dates only against a line, and
    then :func:`action_terms` reads them.  A key this does not know is shown as it is."""
    from .models import SECURITY_KINDS, ActionKind

    p = dict(params or {})
    parts = []
    if "percent" in p:
        parts.append(_("cut the limit by %(pct)s %%") % {"pct": _number(p.pop("percent"))})
    if "new_limit" in p:
        parts.append(_("new limit %(amount)s") % {"amount": format_money(p.pop("new_limit"))})
    if "percent_of_drawn" in p:
        what = (
            _("collateral")
            if kind == ActionKind.REQUIRE_COLLATERAL
            else _("a guarantee")
            if kind in SECURITY_KINDS
            else None
        )
        pct = _number(p.pop("percent_of_drawn"))
        parts.append(
            _("%(what)s worth %(pct)s %% of the drawn balance") % {"what": what, "pct": pct}
            if what
            else _("%(pct)s %% of the drawn balance") % {"pct": pct}
        )
    if "amount_needed" in p:
        parts.append(_("worth %(amount)s") % {"amount": format_money(p.pop("amount_needed"))})
    if "due_in_days" in p:
        parts.append(_("within %(n)s days") % {"n": p.pop("due_in_days")})
    if "due_date" in p:
        parts.append(_("by %(date)s") % {"date": format_date(p.pop("due_date"))})
    if "term_months" in p:
        parts.append(_("over %(n)s months") % {"n": p.pop("term_months")})
    if p.get("annual_rate") not in (None, ""):
        parts.append(_("at %(rate)s a year") % {"rate": format_rate(p.pop("annual_rate"))})
    if p.get("interest_only_months"):
        parts.append(_("the first %(n)s months interest only") % {"n": p.pop("interest_only_months")})
    if p.get("watch_months"):
        parts.append(_("watched for %(n)s months") % {"n": p.pop("watch_months")})
    parts += [f"{k}: {v}" for k, v in p.items() if v not in (None, "", 0)]
    if not parts:
        return ""
    text = pgettext("list separator", ", ").join(str(x) for x in parts)
    return str(capfirst(text))


def _number(value) -> str:
    d = _dec(value)
    return str(value) if d is None else f"{d.normalize():f}"


def action_name(action) -> str:
    """An action by what it does and to whom, without its status (the messages that name it
    say what became of it): "Reduce limit — Hengyuan Logistics, credit line #151"."""
    return f"{action.get_kind_display()} — {action_subject(action)}"


def result_text(action) -> str:
    """What an executed action changed, in words."""
    from loans.choices import CreditLineStatus

    from .models import ActionKind

    r = action.result or {}
    if not r:
        return ""
    parts = []
    if "limit_after" in r:
        parts.append(
            _("limit %(before)s → %(after)s")
            % {"before": format_money(r.get("limit_before")), "after": format_money(r["limit_after"])}
        )
    if action.kind == ActionKind.RESTRUCTURE and "maturity_date" in r:
        parts.append(
            _("%(amount)s rescheduled (schedule v%(v)s), maturing %(date)s, watched until %(watch)s")
            % {
                "amount": format_money(r.get("principal_rescheduled")),
                "v": r.get("schedule_version"),
                "date": format_date(r["maturity_date"]),
                "watch": format_date(r.get("watch_until")),
            }
        )
    if "due_on" in r:
        parts.append(_("due in full on %(date)s") % {"date": format_date(r["due_on"])})
    if "principal_written_off" in r:
        parts.append(_("%(amount)s written off") % {"amount": format_money(r["principal_written_off"])})
    if r.get("requested"):
        parts.append(
            _("requested: %(amount)s by %(date)s")
            % {"amount": format_money(r.get("amount_needed")), "date": format_date(r.get("due_date"))}
        )
    if "status_after" in r:

        def status(v):
            return str(CreditLineStatus(v).label) if v in CreditLineStatus.values else str(v)

        parts.append(
            _("line %(before)s → %(after)s")
            % {"before": status(r.get("status_before")), "after": status(r["status_after"])}
        )
    return "; ".join(str(x) for x in parts) or str(action.get_kind_display())


def action_subject(action) -> str:
    """ "Hengyuan Logistics, credit line #151" (the company selected with the action)."""
    what = f"{_('loan')} #{action.loan_id}" if action.loan_id else f"{_('credit line')} #{action.credit_line_id}"
    company = action.company.legal_name if action.company_id else ""
    return _("%(company)s, %(what)s") % {"company": company, "what": what} if company else str(capfirst(what))


# --- what a night settled for the warnings that cleared -------------------------------------

# The run's counts from ``proposals.actions_settle_for_cleared_alerts``, in the order they are told.
CLEARED_WARNING_COUNTS = {
    "actions_withdrawn": gettext_lazy("system proposals withdrawn"),
    "committee_cases_withdrawn": gettext_lazy("committee cases closed as withdrawn"),
    "actions_flagged": gettext_lazy("people's proposals flagged for their approver"),
}


def cleared_warning_counts(counts) -> list[tuple[str, int]]:
    """[(label, number)] of what the night settled for its warnings that cleared by themselves;
    empty for a run that did not record them (one from before they were recorded, or one not
    yet past its rules)."""
    counts = counts if isinstance(counts, dict) else {}
    return [(str(label), counts[key]) for key, label in CLEARED_WARNING_COUNTS.items() if key in counts]


def cleared_warning_text(counts) -> str:
    """ "system proposals withdrawn: 2 · committee cases closed as withdrawn: 1 · …", or ""."""
    return " · ".join(_("%(label)s: %(n)s") % {"label": label, "n": n} for label, n in cleared_warning_counts(counts))
