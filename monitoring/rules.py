"""Warning rules: set-based evaluators with versioned parameters, raising ``Alert`` rows.

Each rule is one INSERT ... SELECT ... ON CONFLICT DO UPDATE (PostgreSQL and SQLite alike): the
SELECT finds the day's hits, and the partial unique index ``alert_one_open_per_subject_rule``
turns a hit on a subject that already has an open (or acknowledged) alert of the rule into an
update of that alert's evidence, scores, severity and ``last_seen_on``.  A rerun of a date
creates nothing new; a persisting problem keeps one alert whose ``last_seen_on`` follows it;
resolved and dismissed alerts are history, and a hit after them opens a new alert (they are
not reopened: the history keeps each episode with its own first and last day).

Parameters and severity come from the rule's ``WarningRule`` version for the date (the newest
version whose ``effective_from`` is on or before it; the defaults below when none is stored).
Parameters are validated by :func:`rule_params_validate` (an error names the parameter and its
range) and, once validated, written into the statements as literals, so that PostgreSQL can
match them to partial indexes.

Rule codes (plain strings; post-loan actions read alerts by ``rule``, ``severity``,
``subject_kind``, ``subject_id``, ``status``):

==============================  ========  ====================================================
code                            subject   finds
==============================  ========  ====================================================
``score_drop``                  person,   the score of the day at least ``points`` below the
                                company   previous score (every subject), or below the best
                                          score of the last ``days`` days (exposed companies);
                                          ``high`` from ``high_points``
``tier_downgrade``              company   the policy tier of the day's score at least ``steps``
                                          tiers below the previous score's tier
``below_minimum``               company   the day's score below ``min_score`` (None: the active
                                          credit policy's eligibility minimum)
``related_party_deterioration`` company   a legal representative, actual controller or
                                          shareholder of at least ``min_ownership_pct`` % whose
                                          score dropped ``points`` or who is in default; raised
                                          on every company they stand behind
``dpd_over``                    loan      an active loan more than ``days`` past due (``high``
                                          beyond ``high_days``)
``default_contagion``           company   a loan at M3+ or written off: every other company
                                          sharing its borrower's key persons goes on watch
``line_expiry``                 line      an open line expiring within ``days``: review due
``company_red_flags``           company   new lawsuits or administrative penalties, revenue down
                                          ``revenue_drop_pct`` % year on year, overdue payables
                                          at least ``overdue_payables_ratio`` × monthly revenue
``guarantor_deterioration``     company   a guarantor (person or company) of an open line or
                                          loan whose score dropped ``points`` or who defaulted
``collateral_coverage``         line      pledged collateral's lending value (after haircut)
                                          below ``min_ratio`` × the line's drawn principal
==============================  ========  ====================================================

Exposure and the watch list: a company *has exposure* when it holds an active or frozen line or
an active loan.  Rules that lead to actions look only at subjects with exposure.  Three rules
also see subjects without it — ``score_drop`` (every scored subject, as before), and
``default_contagion`` (every company sharing a defaulter's key persons) — and raise those hits
with severity ``info``: the watch list, on which no action is proposed.  A person's own
``score_drop`` is always ``info``: what it means for lending is raised on the companies they
stand behind by ``related_party_deterioration``.

Evidence (``Alert.evidence``) holds what the rule saw at the latest hit: scores before and
after, reason codes, days past due, the data that changed, and the exposure at stake (``limit``:
open line limits, ``outstanding``: active loans' principal, as text with two decimals).

``rules_evaluate`` runs every enabled rule for a date; the nightly run calls it in step 4, after
persons and companies are rescored and the book serviced (so days past due and buckets are
tonight's), and records per-rule counts.

A live alert whose rule evaluates its subject and no longer hits is resolved by the system in
the same evaluation ("condition cleared on <date>"; each rule's ``clear`` condition says when
its problem is gone); a later hit opens a new alert.
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.history.records import records_actor
from config.sqlnames import column_names
from loans.models import Collateral, CreditLine, Guarantee, Loan, RelatedParty, role_current_on_sql
from loans.services import four_eyes
from scoring.models import SCORE_DROP_INDEX_POINTS, CompanyCreditSnapshot, Score

from .models import ALERT_LIVE_STATUSES, Alert, AlertStatus, RuleVersionStatus, Severity, WarningRule

EXPOSURE_TABLE = "rule_exposure"
KEY_ROLES = ("legal_representative", "actual_controller")
NO_SCORES = "CAST(NULL AS SMALLINT), CAST(NULL AS SMALLINT)"  # typed: PostgreSQL reads a bare NULL as text


@functools.cache
def _tables() -> SimpleNamespace:
    """The tables the rules read, named from the models' metadata (not typed in), so that a
    renamed table cannot leave a rule reading a table that no longer exists; looked up once."""
    return SimpleNamespace(
        score=Score._meta.db_table, company_snapshot=CompanyCreditSnapshot._meta.db_table,
        party=RelatedParty._meta.db_table, loan=Loan._meta.db_table, line=CreditLine._meta.db_table,
        guarantee=Guarantee._meta.db_table, collateral=Collateral._meta.db_table,
    )


# --- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    kind: type  # int or float
    low: float
    high: float
    nullable: bool = False


@dataclass
class RuleSpec:
    code: str
    severity: str
    params: dict[str, object]
    specs: dict[str, Param]
    evaluate: Callable[[Context], str] | None = None  # returns the hits SELECT
    # returns a condition on a live alert ``a`` not hit on the day: the rule evaluated its
    # subject on the day and the problem is gone (the alert is then resolved by the system)
    clear: Callable[[Context], str] | None = None


RULES: dict[str, RuleSpec] = {}


def _spec(code: str, severity: str, **params: tuple[object, Param]) -> RuleSpec:
    spec = RuleSpec(code, severity, {k: v[0] for k, v in params.items()}, {k: v[1] for k, v in params.items()})
    RULES[code] = spec
    return spec


_spec("score_drop", Severity.MEDIUM, points=(50, Param(int, 1, 950)), days=(1, Param(int, 1, 365)),
      high_points=(100, Param(int, 1, 950)))
_spec("tier_downgrade", Severity.MEDIUM, steps=(1, Param(int, 1, 10)))
_spec("below_minimum", Severity.HIGH, min_score=(None, Param(int, 0, 950, nullable=True)))
_spec("related_party_deterioration", Severity.HIGH, points=(50, Param(int, 1, 950)),
      min_ownership_pct=(25, Param(float, 0, 100)))
_spec("dpd_over", Severity.MEDIUM, days=(30, Param(int, 0, 3650)), high_days=(90, Param(int, 0, 3650)))
_spec("default_contagion", Severity.HIGH, min_ownership_pct=(25, Param(float, 0, 100)))
_spec("line_expiry", Severity.LOW, days=(30, Param(int, 0, 366)))
_spec("company_red_flags", Severity.MEDIUM, new_lawsuits=(1, Param(int, 1, 10000)),
      new_penalties=(1, Param(int, 1, 10000)), revenue_drop_pct=(30, Param(float, 0, 100)),
      overdue_payables_ratio=(0.5, Param(float, 0, 10)))
_spec("guarantor_deterioration", Severity.MEDIUM, points=(50, Param(int, 1, 950)))
_spec("collateral_coverage", Severity.HIGH, min_ratio=(1.0, Param(float, 0, 10)))

DEFAULT_RULES = {code: (spec.severity, dict(spec.params)) for code, spec in RULES.items()}


def rule_params_validate(code: str, params) -> dict:
    """The parameters of rule ``code`` with defaults filled in; ``ValidationError`` on
    ``params`` naming each bad parameter and its allowed range."""
    spec = RULES.get(code)
    if spec is None:
        raise ValidationError({"code": _("Unknown warning rule %(code)r; known: %(known)s.") % {
            "code": code, "known": ", ".join(sorted(RULES))}})
    if not isinstance(params, dict):
        raise ValidationError({"params": _("Parameters must be a JSON object.")})
    errors = []
    unknown = sorted(set(params) - set(spec.specs))
    if unknown:
        errors.append(_("unknown parameter(s) %(names)s for %(code)s (known: %(known)s)") % {
            "names": ", ".join(unknown), "code": code, "known": ", ".join(spec.specs)})
    clean = dict(spec.params)
    for name, p in spec.specs.items():
        if name not in params:
            continue
        value = params[name]
        if value is None and p.nullable:
            clean[name] = None
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and p.kind is int and not (isinstance(value, int) or float(value).is_integer()):
            ok = False
        if not ok or not (p.low <= value <= p.high):
            errors.append(_("%(name)s must be %(what)s between %(low)s and %(high)s%(null)s (got %(value)r)") % {
                "name": name, "what": _("an integer") if p.kind is int else _("a number"),
                "low": p.kind(p.low), "high": p.kind(p.high), "null": _(", or null") if p.nullable else "",
                "value": value})
            continue
        clean[name] = p.kind(value)
    if not errors and code == "score_drop" and clean["high_points"] < clean["points"]:
        errors.append(_("high_points must be at least points (%(points)s)") % {"points": clean["points"]})
    if not errors and code == "dpd_over" and clean["high_days"] < clean["days"]:
        errors.append(_("high_days must be at least days (%(days)s)") % {"days": clean["days"]})
    if errors:
        raise ValidationError({"params": errors})
    return clean


@dataclass
class Context:
    """What a rule's SELECT is built from: the date, its validated parameters and severity."""

    as_of: datetime.date
    code: str
    severity: str
    params: dict
    version: int | None
    sql_params: dict = field(default_factory=dict)

    @property
    def pg(self) -> bool:
        return connection.vendor == "postgresql"

    def date(self, name: str, value: datetime.date) -> str:
        """A date as a statement parameter (``%(name)s``)."""
        self.sql_params[name] = value
        return f"%({name})s"

    # vendor helpers --------------------------------------------------------------------------

    def obj(self, *pairs) -> str:
        """A JSON object of (key, SQL expression) pairs."""
        args = ", ".join(f"'{k}', {v}" for k, v in pairs)
        return f"jsonb_build_object({args})" if self.pg else f"json_object({args})"

    def json(self, expr: str) -> str:
        """A JSON value held in a column (json/jsonb on PostgreSQL, text on SQLite)."""
        return expr if self.pg else f"json({expr})"

    def agg(self, expr: str) -> str:
        """A JSON array of the distinct values of ``expr`` in the group."""
        return f"jsonb_agg(DISTINCT {expr})" if self.pg else f"json_group_array(DISTINCT {expr})"

    def money(self, expr: str) -> str:
        """A money expression as text with two decimals (Decimal-exact on PostgreSQL)."""
        return f"CAST(ROUND(CAST({expr} AS NUMERIC), 2) AS TEXT)" if self.pg else f"printf('%%.2f', {expr})"

    def days_between(self, later: str, earlier: str) -> str:
        return f"({later} - {earlier})" if self.pg else f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def fence(self) -> str:
        """Keep PostgreSQL from flattening a subquery (whose per-row sub-selects it would then
        re-evaluate as join keys); SQLite evaluates them as written."""
        return " OFFSET 0" if self.pg else ""

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def exposure(self, alias: str = "e") -> list[tuple[str, str]]:
        return [("limit", f"CASE WHEN {alias}.company_id IS NULL THEN NULL ELSE {self.money(f'{alias}.line_limit')} END"),
                ("outstanding", f"CASE WHEN {alias}.company_id IS NULL THEN NULL ELSE {self.money(f'{alias}.outstanding')} END")]

    def evidence_int(self, alias: str, key: str) -> str:
        """An integer held in an alert's evidence."""
        a = column_names(Alert)
        if self.pg:
            return f"CAST({alias}.{a['evidence']} ->> '{key}' AS INTEGER)"
        return f"CAST(json_extract({alias}.{a['evidence']}, '$.{key}') AS INTEGER)"

    def sev(self) -> str:
        return f"'{self.severity}'"

    def watch_or_sev(self, exposed: str) -> str:
        return f"CASE WHEN {exposed} THEN '{self.severity}' ELSE '{Severity.INFO.value}' END"

    def key_roles(self, alias: str = "r") -> str:
        """Current key roles: legal representative, actual controller, major shareholder."""
        d = self.date("as_of", self.as_of)
        pct = float(self.params.get("min_ownership_pct", 25))
        rp = column_names(RelatedParty)
        return (f"{role_current_on_sql(alias, d)} AND "
                f"({alias}.{rp['role']} IN ('{KEY_ROLES[0]}', '{KEY_ROLES[1]}') OR "
                f"({alias}.{rp['role']} = 'shareholder' AND {alias}.{rp['ownership_pct']} >= {pct}))")


def register(code: str):
    def deco(fn: Callable[[Context], str]):
        RULES[code].evaluate = fn
        return fn

    return deco


def clears(code: str):
    def deco(fn: Callable[[Context], str]):
        RULES[code].clear = fn
        return fn

    return deco


# --- the rules -------------------------------------------------------------------------------
# Each returns a SELECT of (subject_kind, subject_id, company_id, severity, old_score,
# new_score, evidence), at most one row per subject.


@register("score_drop")
def score_drop(c: Context) -> str:
    """Single-step drops over every subject of the day, read through scoring's partial index
    ``score_drop_candidates_idx`` (its predicate, a drop of 50, is repeated literally so that
    PostgreSQL uses it whenever ``points`` ≥ 50; below 50 the day's scores are scanned).  With
    ``days`` > 1, exposed companies are also compared with their best score of the window."""
    tb, s = _tables(), column_names(Score)
    points, days, high = c.params["points"], c.params["days"], c.params["high_points"]
    d = c.date("as_of", c.as_of)
    index_floor = (f"s.{s['previous_score']} >= s.{s['score']} + {SCORE_DROP_INDEX_POINTS} AND "
                   if points >= SCORE_DROP_INDEX_POINTS else "")
    cand = (f"SELECT s.{s['subject_kind']}, s.{s['subject_id']}, s.{s['score']}, s.{s['previous_score']} AS ref, "
            f"s.{s['id']} AS score_id FROM {tb.score} s WHERE s.{s['as_of']} = {d} "
            f"AND {index_floor}s.{s['previous_score']} >= s.{s['score']} + {points}")
    if days > 1:
        since = c.date("window_from", c.as_of - datetime.timedelta(days=days))
        cand += (
            f" UNION ALL SELECT s.{s['subject_kind']}, s.{s['subject_id']}, s.{s['score']}, "
            f"(SELECT MAX(h.{s['score']}) FROM {tb.score} h WHERE h.{s['subject_kind']} = 'company' "
            f"AND h.{s['subject_id']} = s.{s['subject_id']} AND h.{s['as_of']} >= {since} AND h.{s['as_of']} < {d}), "
            f"s.{s['id']} FROM {EXPOSURE_TABLE} x JOIN {tb.score} s ON s.{s['subject_kind']} = 'company' "
            f"AND s.{s['subject_id']} = x.company_id AND s.{s['as_of']} = {d}"
        )
    grouped = (f"SELECT subject_kind, subject_id, MIN(score) AS score, MAX(ref) AS ref, MIN(score_id) AS score_id "
               f"FROM ({cand}) cand WHERE ref >= score + {points} GROUP BY subject_kind, subject_id")
    exposed = "(g.subject_kind = 'company' AND e.company_id IS NOT NULL)"
    severity = (f"CASE WHEN NOT {exposed} THEN '{Severity.INFO.value}' "
                f"WHEN g.ref - g.score >= {high} THEN '{Severity.HIGH.value}' ELSE {c.sev()} END")
    evidence = c.obj(("score_before", "g.ref"), ("score_after", "g.score"), ("drop", "g.ref - g.score"),
                     ("days", str(days)), ("reason_codes", c.json(f"sc.{s['reason_codes']}")), *c.exposure())
    return (
        f"SELECT g.subject_kind, g.subject_id, CASE WHEN g.subject_kind = 'company' THEN g.subject_id END, "
        f"{severity}, g.ref, g.score, {evidence} FROM ({grouped}) g "
        f"JOIN {tb.score} sc ON sc.{s['id']} = g.score_id AND sc.{s['as_of']} = {d} "
        f"LEFT JOIN {EXPOSURE_TABLE} e ON g.subject_kind = 'company' AND e.company_id = g.subject_id"
    )


def _policy():
    from loans.services.policy import credit_policy_active

    return credit_policy_active()


def _tier_rank(bands, expr: str) -> str:
    """The rank of the policy tier of a score (0 = best); below every band: len(bands)."""
    whens = " ".join(f"WHEN {expr} >= {int(b['min_score'])} THEN {i}" for i, b in enumerate(bands))
    return f"(CASE {whens} ELSE {len(bands)} END)"


def _tier_name(bands, expr: str) -> str:
    whens = " ".join(f"WHEN {expr} >= {int(b['min_score'])} THEN '{b['tier']}'" for b in bands)
    return f"(CASE {whens} ELSE 'below' END)"


def _day_company_scores(c: Context) -> str:
    """The day's score of every exposed company scored that day (one row each), read from the
    exposure table, which probed them once for every rule."""
    return f"SELECT company_id, score, ref, score_id FROM {EXPOSURE_TABLE} WHERE score IS NOT NULL"


@register("tier_downgrade")
def tier_downgrade(c: Context) -> str:
    tb, s = _tables(), column_names(Score)
    bands = sorted(_policy().tier_bands, key=lambda b: -int(b["min_score"]))
    now, before = _tier_rank(bands, "g.score"), _tier_rank(bands, "g.ref")
    evidence = c.obj(("score_before", "g.ref"), ("score_after", "g.score"),
                     ("tier_before", _tier_name(bands, "g.ref")), ("tier_after", _tier_name(bands, "g.score")),
                     ("reason_codes", c.json(f"sc.{s['reason_codes']}")), *c.exposure())
    return (
        f"SELECT 'company', g.company_id, g.company_id, {c.sev()}, g.ref, g.score, {evidence} "
        f"FROM ({_day_company_scores(c)}) g JOIN {tb.score} sc ON sc.{s['id']} = g.score_id "
        f"AND sc.{s['as_of']} = {c.date('as_of', c.as_of)} "
        f"JOIN {EXPOSURE_TABLE} e ON e.company_id = g.company_id "
        f"WHERE g.ref IS NOT NULL AND {now} - {before} >= {int(c.params['steps'])}"
    )


def _minimum(c: Context) -> int:
    minimum = c.params["min_score"]
    return int(_policy().min_score if minimum is None else minimum)


@register("below_minimum")
def below_minimum(c: Context) -> str:
    tb, s = _tables(), column_names(Score)
    minimum = _minimum(c)
    evidence = c.obj(("score_before", "g.ref"), ("score_after", "g.score"), ("min_score", str(minimum)),
                     ("reason_codes", c.json(f"sc.{s['reason_codes']}")), *c.exposure())
    return (
        f"SELECT 'company', g.company_id, g.company_id, {c.sev()}, g.ref, g.score, {evidence} "
        f"FROM ({_day_company_scores(c)}) g JOIN {tb.score} sc ON sc.{s['id']} = g.score_id "
        f"AND sc.{s['as_of']} = {c.date('as_of', c.as_of)} "
        f"JOIN {EXPOSURE_TABLE} e ON e.company_id = g.company_id WHERE g.score < {minimum}"
    )


@register("related_party_deterioration")
def related_party_deterioration(c: Context) -> str:
    """Driven from the exposed companies: their key persons' scores of the day (unique index)."""
    tb, s, rp = _tables(), column_names(Score), column_names(RelatedParty)
    d = c.date("as_of", c.as_of)
    points = c.params["points"]
    hit = f"(s.{s['previous_score']} >= s.{s['score']} + {points} OR s.{s['in_default']})"
    defaulted = f"MAX(CASE WHEN s.{s['in_default']} THEN 1 ELSE 0 END)"
    evidence = c.obj(
        ("persons", c.agg(f"r.{rp['person_id']}")),
        ("person_default", f"{defaulted} = 1"),
        ("worst_drop", f"MAX(s.{s['previous_score']} - s.{s['score']})"),
        ("lowest_score", f"MIN(s.{s['score']})"),
        ("reason", f"CASE WHEN {defaulted} = 1 THEN 'related_party_default' ELSE 'related_party_score_drop' END"),
        ("limit", c.money("MAX(e.line_limit)")), ("outstanding", c.money("MAX(e.outstanding)")),
    )
    if c.pg:  # each exposed company's key persons, each person's day score probed by index
        scores = (f"CROSS JOIN LATERAL (SELECT s.{s['score']}, s.{s['previous_score']}, s.{s['in_default']} "
                  f"FROM {tb.score} s WHERE s.{s['subject_kind']} = 'person' AND s.{s['subject_id']} = r.{rp['person_id']} "
                  f"AND s.{s['as_of']} = e.day) s")
    else:
        scores = (f"JOIN {tb.score} s ON s.{s['subject_kind']} = 'person' AND s.{s['subject_id']} = r.{rp['person_id']} "
                  f"AND s.{s['as_of']} = {d}")
    return (
        f"SELECT 'company', e.company_id, e.company_id, {c.sev()}, {NO_SCORES}, {evidence} "
        f"FROM {EXPOSURE_TABLE} e JOIN {tb.party} r ON r.{rp['company_id']} = e.company_id AND {c.key_roles('r')} "
        f"{scores} WHERE {hit} GROUP BY e.company_id"
    )


@register("dpd_over")
def dpd_over(c: Context) -> str:
    tb, ln = _tables(), column_names(Loan)
    days, high = c.params["days"], c.params["high_days"]
    evidence = c.obj(("dpd", f"l.{ln['days_past_due']}"), ("bucket", f"l.{ln['bucket']}"),
                     ("classification", f"l.{ln['classification']}"),
                     ("outstanding", c.money(f"l.{ln['outstanding_principal']}")),
                     ("penalty", c.money(f"l.{ln['penalty_accrued']}")))
    return (
        f"SELECT 'loan', l.{ln['id']}, l.{ln['company_id']}, CASE WHEN l.{ln['days_past_due']} > {high} "
        f"THEN '{Severity.HIGH.value}' ELSE {c.sev()} END, {NO_SCORES}, {evidence} FROM {tb.loan} l "
        f"WHERE l.{ln['status']} = 'active' AND l.{ln['days_past_due']} > {days}"
    )


@register("default_contagion")
def default_contagion(c: Context) -> str:
    tb, ln, rp = _tables(), column_names(Loan), column_names(RelatedParty)
    evidence = c.obj(("source_loans", c.agg(f"b.{ln['id']}")), ("source_companies", c.agg(f"b.{ln['company_id']}")),
                     ("persons", c.agg(f"src.{rp['person_id']}")),
                     ("limit", c.money("MAX(e.line_limit)")), ("outstanding", c.money("MAX(e.outstanding)")))
    return (
        f"SELECT 'company', t.{rp['company_id']}, t.{rp['company_id']}, "
        f"{c.watch_or_sev('MAX(e.company_id) IS NOT NULL')}, {NO_SCORES}, {evidence} FROM {tb.loan} b "
        f"JOIN {tb.party} src ON src.{rp['company_id']} = b.{ln['company_id']} AND {c.key_roles('src')} "
        f"JOIN {tb.party} t ON t.{rp['person_id']} = src.{rp['person_id']} "
        f"AND t.{rp['company_id']} <> b.{ln['company_id']} AND {c.key_roles('t')} "
        f"LEFT JOIN {EXPOSURE_TABLE} e ON e.company_id = t.{rp['company_id']} "
        f"WHERE (b.{ln['status']} = 'active' AND b.{ln['bucket']} = 'm3_plus') OR b.{ln['status']} = 'written_off' "
        f"GROUP BY t.{rp['company_id']}"
    )


@register("line_expiry")
def line_expiry(c: Context) -> str:
    tb, cl = _tables(), column_names(CreditLine)
    d = c.date("as_of", c.as_of)
    until = c.date("expiry_until", c.as_of + datetime.timedelta(days=c.params["days"]))
    expires = f"l.{cl['expires_on']}"
    evidence = c.obj(("expires_on", c.text(expires)), ("days_left", c.days_between(expires, d)),
                     ("line_status", f"l.{cl['status']}"), ("limit", c.money(f"l.{cl['limit_amount']}")),
                     ("drawn", c.money(f"l.{cl['drawn_principal']}")))
    return (
        f"SELECT 'line', l.{cl['id']}, l.{cl['company_id']}, {c.sev()}, {NO_SCORES}, {evidence} FROM {tb.line} l "
        f"WHERE l.{cl['status']} IN ('active', 'frozen') AND {expires} >= {d} AND {expires} <= {until}"
    )


@register("company_red_flags")
def company_red_flags(c: Context) -> str:
    """The latest operating data on or before the day against the snapshot before it."""
    d = c.date("as_of", c.as_of)
    p = c.params
    snap, cs = _tables().company_snapshot, column_names(CompanyCreditSnapshot)
    lawsuits = f"(cur.{cs['lawsuits_24m']} - COALESCE(prev.{cs['lawsuits_24m']}, cur.{cs['lawsuits_24m']}))"
    penalties = (f"(cur.{cs['admin_penalties_24m']} - "
                 f"COALESCE(prev.{cs['admin_penalties_24m']}, cur.{cs['admin_penalties_24m']}))")
    revenue = f"cur.{cs['revenue_trend']} <= {-float(p['revenue_drop_pct']) / 100}"
    overdue = f"cur.{cs['overdue_payables_ratio']} >= {float(p['overdue_payables_ratio'])}"
    flags = [f"{lawsuits} >= {p['new_lawsuits']}", f"{penalties} >= {p['new_penalties']}", revenue, overdue]
    evidence = c.obj(
        ("data_as_of", c.text(f"cur.{cs['as_of']}")), ("compared_with", c.text(f"prev.{cs['as_of']}")),
        ("new_lawsuits", lawsuits), ("new_penalties", penalties),
        ("revenue_trend", f"cur.{cs['revenue_trend']}"),
        ("overdue_payables_ratio", f"cur.{cs['overdue_payables_ratio']}"),
        ("flags", c.obj(("lawsuits", f"CASE WHEN {flags[0]} THEN 1 ELSE 0 END"),
                        ("penalties", f"CASE WHEN {flags[1]} THEN 1 ELSE 0 END"),
                        ("revenue_down", f"CASE WHEN {flags[2]} THEN 1 ELSE 0 END"),
                        ("overdue_payables", f"CASE WHEN {flags[3]} THEN 1 ELSE 0 END"))),
        *c.exposure(),
    )
    if c.pg:
        # Per exposed company, the latest snapshot on or before the day and the one before it:
        # two backward index scans that return the rows themselves (LATERAL keeps the planner
        # from hashing the whole snapshot table).
        return (
            f"SELECT 'company', e.company_id, e.company_id, {c.sev()}, {NO_SCORES}, {evidence} "
            f"FROM {EXPOSURE_TABLE} e "
            f"CROSS JOIN LATERAL (SELECT * FROM {snap} s1 WHERE s1.{cs['company_id']} = e.company_id "
            f"AND s1.{cs['as_of']} <= {d} ORDER BY s1.{cs['as_of']} DESC LIMIT 1) cur "
            f"LEFT JOIN LATERAL (SELECT * FROM {snap} s2 WHERE s2.{cs['company_id']} = e.company_id "
            f"AND s2.{cs['as_of']} < cur.{cs['as_of']} ORDER BY s2.{cs['as_of']} DESC LIMIT 1) prev ON true "
            f"WHERE {' OR '.join(f'({f})' for f in flags)}"
        )
    # The dates of the two snapshots first (two index probes per exposed company), then the rows.
    dated = (
        f"SELECT x.*, (SELECT MAX(s2.{cs['as_of']}) FROM {snap} s2 WHERE s2.{cs['company_id']} = x.company_id "
        f"AND s2.{cs['as_of']} < x.cur_on) AS prev_on FROM (SELECT e.*, (SELECT MAX(s1.{cs['as_of']}) FROM {snap} s1 "
        f"WHERE s1.{cs['company_id']} = e.company_id AND s1.{cs['as_of']} <= {d}) AS cur_on "
        f"FROM {EXPOSURE_TABLE} e{c.fence()}) x{c.fence()}"
    )
    return (
        f"SELECT 'company', e.company_id, e.company_id, {c.sev()}, {NO_SCORES}, {evidence} "
        f"FROM ({dated}) e JOIN {snap} cur ON cur.{cs['company_id']} = e.company_id AND cur.{cs['as_of']} = e.cur_on "
        f"LEFT JOIN {snap} prev ON prev.{cs['company_id']} = e.company_id AND prev.{cs['as_of']} = e.prev_on "
        f"WHERE {' OR '.join(f'({f})' for f in flags)}"
    )


@register("guarantor_deterioration")
def guarantor_deterioration(c: Context) -> str:
    tb, s, gu = _tables(), column_names(Score), column_names(Guarantee)
    cl, ln = column_names(CreditLine), column_names(Loan)
    d = c.date("as_of", c.as_of)
    borrower = f"COALESCE(gl.{cl['company_id']}, gn.{ln['company_id']})"
    evidence = c.obj(
        ("guarantees", c.agg(f"g.{gu['id']}")),
        ("guarantor_default", f"MAX(CASE WHEN s.{s['in_default']} THEN 1 ELSE 0 END) = 1"),
        ("worst_drop", f"MAX(s.{s['previous_score']} - s.{s['score']})"), ("lowest_score", f"MIN(s.{s['score']})"),
        ("guaranteed", c.money(f"SUM(g.{gu['amount']})")),
    )
    return (
        f"SELECT 'company', {borrower}, {borrower}, {c.sev()}, {NO_SCORES}, {evidence} FROM {tb.guarantee} g "
        f"LEFT JOIN {tb.line} gl ON gl.{cl['id']} = g.{gu['credit_line_id']} AND gl.{cl['status']} IN ('active', 'frozen') "
        f"LEFT JOIN {tb.loan} gn ON gn.{ln['id']} = g.{gu['loan_id']} AND gn.{ln['status']} = 'active' "
        f"JOIN {tb.score} s ON s.{s['as_of']} = {d} "
        f"AND s.{s['subject_kind']} = CASE WHEN g.{gu['guarantor_person_id']} IS NULL THEN 'company' ELSE 'person' END "
        f"AND s.{s['subject_id']} = COALESCE(g.{gu['guarantor_person_id']}, g.{gu['guarantor_company_id']}) "
        f"WHERE g.{gu['status']} = 'pledged' AND {borrower} IS NOT NULL "
        f"AND (s.{s['previous_score']} >= s.{s['score']} + {c.params['points']} OR s.{s['in_default']}) "
        f"GROUP BY {borrower}"
    )


@register("collateral_coverage")
def collateral_coverage(c: Context) -> str:
    tb, co, ln, cl = _tables(), column_names(Collateral), column_names(Loan), column_names(CreditLine)
    ratio = float(c.params["min_ratio"])
    line_of = f"COALESCE(k.{co['credit_line_id']}, kl.{ln['credit_line_id']})"
    covered = (
        f"SELECT {line_of} AS line_id, "
        f"SUM(k.{co['appraised_value']} * (100 - k.{co['haircut_pct']}) / 100) AS lending_value, "
        f"MAX(k.{co['valued_on']}) AS valued_on "
        f"FROM {tb.collateral} k LEFT JOIN {tb.loan} kl ON kl.{ln['id']} = k.{co['loan_id']} "
        f"WHERE k.{co['status']} = 'pledged' GROUP BY {line_of}"
    )
    drawn = f"l.{cl['drawn_principal']}"
    evidence = c.obj(("lending_value", c.money("cv.lending_value")), ("drawn", c.money(drawn)),
                     ("required", c.money(f"{drawn} * {ratio}")),
                     ("coverage", f"ROUND(CAST(cv.lending_value / {drawn} AS NUMERIC), 4)" if c.pg
                      else f"ROUND(cv.lending_value / {drawn}, 4)"),
                     ("valued_on", c.text("cv.valued_on")), ("min_ratio", str(ratio)))
    return (
        f"SELECT 'line', l.{cl['id']}, l.{cl['company_id']}, {c.sev()}, {NO_SCORES}, {evidence} FROM {tb.line} l "
        f"JOIN ({covered}) cv ON cv.line_id = l.{cl['id']} "
        f"WHERE l.{cl['status']} IN ('active', 'frozen') AND {drawn} > 0 AND cv.lending_value < {drawn} * {ratio}"
    )


# --- when the problem is gone ---------------------------------------------------------------
# Each returns a condition on a live alert ``a`` of the rule that was not hit on the day
# (``a.last_seen_on`` before it): true when the rule evaluated the alert's subject on the day and
# the problem has gone away.  The alert is then resolved by the system ("condition cleared on
# <date>"), in the same evaluation.  A later hit opens a new alert (the resolved one is history).
# Rules over the book's state (days past due, contagion, expiry, coverage) evaluate every
# subject each run: not hit means cleared.  Rules over a day's change (a drop, a downgrade, a
# party's drop) clear when the score has recovered, not merely because it did not fall again.


def _day_score(c: Context, cond: str = "") -> str:
    # ``p.day``: the date as a column of the statement (see ``_resolve_cleared``)
    s, a = column_names(Score), column_names(Alert)
    return (f"SELECT 1 FROM {_tables().score} s WHERE s.{s['subject_kind']} = a.{a['subject_kind']} "
            f"AND s.{s['subject_id']} = a.{a['subject_id']} AND s.{s['as_of']} = p.day" + (f" AND ({cond})" if cond else ""))


@clears("score_drop")
def score_drop_cleared(c: Context) -> str:
    """Scored on the day and no longer ``points`` below the score before the drop."""
    s, a = column_names(Score), column_names(Alert)
    still_down = f"s.{s['score']} + {int(c.params['points'])} <= a.{a['old_score']}"
    return f"EXISTS ({_day_score(c)}) AND NOT EXISTS ({_day_score(c, still_down)})"


@clears("tier_downgrade")
def tier_downgrade_cleared(c: Context) -> str:
    """Scored on the day and back within ``steps`` tiers of the tier before the downgrade."""
    bands = sorted(_policy().tier_bands, key=lambda b: -int(b["min_score"]))
    steps = int(c.params["steps"])
    now, before = f"s.{column_names(Score)['score']}", f"a.{column_names(Alert)['old_score']}"
    still_down = f"{_tier_rank(bands, now)} - {_tier_rank(bands, before)} >= {steps}"
    return f"EXISTS ({_day_score(c)}) AND NOT EXISTS ({_day_score(c, still_down)})"


@clears("below_minimum")
def below_minimum_cleared(c: Context) -> str:
    """Scored on the day at or above the minimum (exposed or not)."""
    below = f"s.{column_names(Score)['score']} < {_minimum(c)}"
    return f"EXISTS ({_day_score(c)}) AND NOT EXISTS ({_day_score(c, below)})"


def _parties_recovered(c: Context, parties: str) -> str:
    """``parties``: a FROM/WHERE yielding ``subject_kind``/``subject_id`` pairs as ``q.kind``,
    ``q.id`` for the alert's company.  Some were scored on the day, none is in default, and each
    is at least ``points`` above the lowest score the alert saw."""
    tb, s = _tables(), column_names(Score)
    floor = f"{c.evidence_int('a', 'lowest_score')} + {int(c.params['points'])}"
    scored = (f"SELECT 1 FROM {parties} JOIN {tb.score} s ON s.{s['subject_kind']} = q.kind "
              f"AND s.{s['subject_id']} = q.id AND s.{s['as_of']} = p.day")
    return f"EXISTS ({scored}) AND NOT EXISTS ({scored} WHERE s.{s['in_default']} OR s.{s['score']} < {floor})"


@clears("related_party_deterioration")
def related_party_cleared(c: Context) -> str:
    tb, rp, a = _tables(), column_names(RelatedParty), column_names(Alert)
    parties = (f"(SELECT 'person' AS kind, r.{rp['person_id']} AS id FROM {tb.party} r "
               f"WHERE r.{rp['company_id']} = a.{a['subject_id']} AND {c.key_roles('r')}) q")
    return _parties_recovered(c, parties)


@clears("guarantor_deterioration")
def guarantor_cleared(c: Context) -> str:
    tb, gu, cl, ln, a = (_tables(), column_names(Guarantee), column_names(CreditLine), column_names(Loan),
                         column_names(Alert))
    parties = (
        f"(SELECT CASE WHEN g.{gu['guarantor_person_id']} IS NULL THEN 'company' ELSE 'person' END AS kind, "
        f"COALESCE(g.{gu['guarantor_person_id']}, g.{gu['guarantor_company_id']}) AS id FROM {tb.guarantee} g "
        f"LEFT JOIN {tb.line} gl ON gl.{cl['id']} = g.{gu['credit_line_id']} AND gl.{cl['status']} IN ('active', 'frozen') "
        f"LEFT JOIN {tb.loan} gn ON gn.{ln['id']} = g.{gu['loan_id']} AND gn.{ln['status']} = 'active' "
        f"WHERE g.{gu['status']} = 'pledged' AND COALESCE(gl.{cl['company_id']}, gn.{ln['company_id']}) "
        f"= a.{a['subject_id']}) q"
    )
    return _parties_recovered(c, parties)


@clears("company_red_flags")
def company_red_flags_cleared(c: Context) -> str:
    """Evaluated on the day (the company still has exposure) and no flag raised."""
    return f"EXISTS (SELECT 1 FROM {EXPOSURE_TABLE} x WHERE x.company_id = a.{column_names(Alert)['subject_id']})"


for _code in ("dpd_over", "default_contagion", "line_expiry", "collateral_coverage"):
    RULES[_code].clear = lambda c: "1 = 1"  # the whole book is evaluated every time


# --- running them ----------------------------------------------------------------------------


def exposure_build(as_of: datetime.date | None = None) -> None:
    """The temporary table of exposed companies (an active or frozen line, or an active loan):
    limit of open lines, outstanding principal, worst days past due, and — with ``as_of`` — the
    company's score of that day (``score``: the lowest of the day's revisions, ``ref``: the
    highest previous score, ``score_id``: the first revision; NULL when not scored that day).
    Built once per evaluation and read by every rule that leads to actions, so that they probe
    the day's scores of the exposed companies by index instead of scanning the day.  On
    PostgreSQL the probe is a LATERAL subquery (the planner cannot pick the day's scan, whose
    freshly written rows its statistics do not know yet)."""
    tb, s, cl, ln = _tables(), column_names(Score), column_names(CreditLine), column_names(Loan)
    day = connection.ops.adapt_datefield_value(as_of) if as_of else None
    probe = (f"FROM {tb.score} s WHERE s.{s['subject_kind']} = 'company' AND s.{s['subject_id']} = x.company_id "
             f"AND s.{s['as_of']} = %s")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {EXPOSURE_TABLE}")
        exposed = (
            "SELECT company_id, SUM(line_limit) AS line_limit, SUM(outstanding) AS outstanding, MAX(dpd) AS max_dpd FROM ("
            f"SELECT {cl['company_id']}, {cl['limit_amount']} AS line_limit, 0 AS outstanding, 0 AS dpd FROM {tb.line} "
            f"WHERE {cl['status']} IN ('active', 'frozen') UNION ALL "
            f"SELECT {ln['company_id']}, 0, {ln['outstanding_principal']}, {ln['days_past_due']} FROM {tb.loan} "
            f"WHERE {ln['status']} = 'active'"
            ") x GROUP BY company_id"
        )
        if day is None:
            cursor.execute(f"CREATE TEMPORARY TABLE {EXPOSURE_TABLE} AS SELECT x.*, CAST(NULL AS SMALLINT) AS score, "
                           f"CAST(NULL AS SMALLINT) AS ref, CAST(NULL AS BIGINT) AS score_id FROM ({exposed}) x")
        elif connection.vendor == "postgresql":
            # The date comes from a fenced one-row subquery, not as a constant: with a constant,
            # a day whose scores were just written looks empty to the planner, which then
            # probes by the date index (scanning the whole day per company); as a column it
            # takes the unique (subject, date, ...) index.  ``day`` stays in the table for the
            # rules that probe persons' scores the same way.
            cursor.execute(
                f"CREATE TEMPORARY TABLE {EXPOSURE_TABLE} AS SELECT x.*, p.day, d.score, d.ref, d.score_id "
                f"FROM ({exposed}) x CROSS JOIN (SELECT CAST(%s AS DATE) AS day OFFSET 0) p "
                f"CROSS JOIN LATERAL (SELECT MIN(s.{s['score']}) AS score, MAX(s.{s['previous_score']}) AS ref, "
                f"MIN(s.{s['id']}) AS score_id "
                f"{probe.replace('%s', 'p.day')}) d",
                [day],
            )
        else:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {EXPOSURE_TABLE} AS SELECT x.*, (SELECT MIN(s.{s['score']}) {probe}) AS score, "
                f"(SELECT MAX(s.{s['previous_score']}) {probe}) AS ref, (SELECT MIN(s.{s['id']}) {probe}) AS score_id "
                f"FROM ({exposed}) x",
                [day, day, day],
            )
        cursor.execute(f"CREATE UNIQUE INDEX {EXPOSURE_TABLE}_company ON {EXPOSURE_TABLE} (company_id)")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {EXPOSURE_TABLE}")


def jit_off_for_transaction() -> None:
    """PostgreSQL's JIT compiles the rules' statements (their estimated costs are high) for
    seconds of the phase's time to save milliseconds: off until the transaction ends."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def exposure_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {EXPOSURE_TABLE}")


def rule_versions(as_of: datetime.date) -> dict[str, WarningRule]:
    """For each code, the newest published version in effect on ``as_of`` (a proposed or
    rejected version never applies)."""
    versions: dict[str, WarningRule] = {}
    published = WarningRule.objects.filter(effective_from__lte=as_of, status=RuleVersionStatus.PUBLISHED)
    for rule in published.order_by("code", "-version"):
        versions.setdefault(rule.code, rule)
    return versions


def _upsert(c: Context, select: str) -> int:
    table, a = Alert._meta.db_table, column_names(Alert)
    live = ", ".join(f"'{s}'" for s in ALERT_LIVE_STATUSES)
    d = c.date("as_of", c.as_of)
    c.sql_params["now"] = connection.ops.adapt_datetimefield_value(timezone.now())
    version = "NULL" if c.version is None else str(int(c.version))
    inserted = ", ".join(a[n] for n in ("subject_kind", "subject_id", "company_id", "severity", "old_score", "new_score",
                                        "evidence", "rule", "rule_version", "first_seen_on", "last_seen_on", "status",
                                        "created_at"))
    refreshed = ", ".join(f"{a[n]} = excluded.{a[n]}" for n in ("last_seen_on", "severity", "old_score", "new_score",
                                                                "evidence", "company_id", "rule_version"))
    sql = (
        f"INSERT INTO {table} ({inserted}) "
        f"SELECT h.*, '{c.code}', {version}, {d}, {d}, '{AlertStatus.OPEN.value}', %(now)s "
        f"FROM ({select}) h WHERE true "
        f"ON CONFLICT ({a['subject_kind']}, {a['subject_id']}, {a['rule']}) WHERE {a['status']} IN ({live}) DO UPDATE SET "
        f"{refreshed} "
        f"WHERE {table}.{a['last_seen_on']} <= excluded.{a['last_seen_on']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, c.sql_params)
        return max(cursor.rowcount, 0)


CLEARED_REASON = "condition cleared on {date}"


def _resolve_cleared(c: Context) -> int:
    """Resolve, by the system, the rule's live alerts not hit on the day whose problem is gone
    (the rule's ``clear`` condition); one UPDATE."""
    spec = RULES[c.code]
    if spec.clear is None:
        return 0
    table, a = Alert._meta.db_table, column_names(Alert)
    live = ", ".join(f"'{s}'" for s in ALERT_LIVE_STATUSES)
    d = c.date("as_of", c.as_of)
    c.sql_params["now"] = connection.ops.adapt_datetimefield_value(timezone.now())
    c.sql_params["cleared"] = CLEARED_REASON.format(date=c.as_of.isoformat())
    # The date as a column (fenced), not a constant: probing the day's scores by a constant
    # date makes PostgreSQL pick the date index, whose fresh rows it believes to be none.
    day = f"(SELECT CAST({d} AS DATE) AS day OFFSET 0)" if c.pg else f"(SELECT {d} AS day)"
    sql = (
        f"UPDATE {table} SET {a['status']} = '{AlertStatus.RESOLVED.value}', {a['closed_at']} = %(now)s, "
        f"{a['closed_by_id']} = NULL, {a['close_reason']} = %(cleared)s WHERE {a['id']} IN (SELECT a.{a['id']} "
        f"FROM {table} a CROSS JOIN {day} p WHERE a.{a['rule']} = '{c.code}' AND a.{a['status']} IN ({live}) "
        f"AND a.{a['last_seen_on']} < {d} AND ({spec.clear(c)}))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, c.sql_params)
        return max(cursor.rowcount, 0)


@dataclass
class RuleResult:
    new: int  # alerts opened
    seen: int  # hits: alerts opened or refreshed
    seconds: float
    version: int | None
    resolved: int = 0  # live alerts resolved by the system: the problem went away


def rule_evaluate(*, code: str, as_of: datetime.date, stored: WarningRule | None = None) -> RuleResult:
    """Evaluate one rule for ``as_of`` (the exposure table must exist: ``rules_evaluate``)."""
    spec = RULES[code]
    if stored is not None:
        params, severity, version = rule_params_validate(code, stored.params), stored.severity, stored.version
    else:
        params, severity, version = dict(spec.params), spec.severity, None
    c = Context(as_of=as_of, code=code, severity=Severity(severity).value, params=params, version=version)
    started = time.perf_counter()
    before = Alert.objects.filter(rule=code).count()
    seen = _upsert(c, spec.evaluate(c))
    new = Alert.objects.filter(rule=code).count() - before
    resolved = _resolve_cleared(c)
    return RuleResult(new=new, seen=seen, seconds=time.perf_counter() - started, version=version, resolved=resolved)


class RuleResults(dict):
    """{rule code: RuleResult} of one evaluation, and in ``settled`` what was settled for the
    warnings it resolved as cleared (``proposals.actions_settle_for_cleared_alerts``' counts:
    actions_withdrawn, actions_flagged, committee_cases_withdrawn), so the night records them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settled: dict = {}


def rules_evaluate_detailed(*, as_of: datetime.date, only: list[str] | None = None) -> RuleResults:
    """Every enabled rule (or ``only`` these) for ``as_of``, in one transaction."""
    stored = rule_versions(as_of)
    results = RuleResults()
    with transaction.atomic():
        # (on an error the transaction rolls back, the temporary table with it)
        jit_off_for_transaction()
        exposure_build(as_of)
        for code in RULES:
            if only is not None and code not in only:
                continue
            rule = stored.get(code)
            if rule is not None and not rule.enabled:
                continue
            results[code] = rule_evaluate(code=code, as_of=as_of, stored=rule)
        exposure_drop()
        from .proposals import actions_settle_for_cleared_alerts

        # what still waits for a warning resolved above, settled in the same transaction
        results.settled = actions_settle_for_cleared_alerts(as_of=as_of)
        from .proposals import system_freezes_link_alerts

        # the day's protective freezes (taken when the scores were written) to the warnings
        # raised above that explain them
        system_freezes_link_alerts(as_of=as_of)
    return results


def rules_evaluate(*, as_of: datetime.date, only: list[str] | None = None) -> dict[str, int]:
    """Run every enabled rule for ``as_of``; {rule code: alerts opened}."""
    return {code: r.new for code, r in rules_evaluate_detailed(as_of=as_of, only=only).items()}


# --- publishing a version (maker-checker) ---------------------------------------------------
#
# A person proposes a version (warning_rule_propose: recorded inactive, maker user:<id>); another
# person holding monitoring.publish_warning_rule approves it (warning_rule_approve: it becomes the
# active version) or rejects it with a reason.  The guard reads the recorded maker.  Only the
# system (a migration, a seed, a test) publishes in one step (warning_rule_publish).

PUBLISH_RULE_PERMISSION = "monitoring.publish_warning_rule"
VERSION_FIELDS = ("enabled", "severity", "params", "effective_from")


def _checked(code: str, severity: str, params: dict, effective_from) -> dict:
    """The version's settings, validated (nothing saved on an error, which names the field)."""
    if code not in RULES:
        raise ValidationError({"code": _("Unknown rule %(code)s.") % {"code": code}})
    clean = rule_params_validate(code, params)
    if severity not in Severity.values:
        raise ValidationError({"severity": _("Severity must be one of %(known)s.") % {"known": ", ".join(Severity.values)}})
    if not isinstance(effective_from, datetime.date):
        raise ValidationError({"effective_from": _("A date is needed.")})
    return clean


def _not_before_active(current: WarningRule | None, effective_from: datetime.date) -> None:
    if current is not None and effective_from < current.effective_from:
        raise ValidationError({"effective_from": _(
            "The new version cannot take effect before the active v%(v)s (%(date)s).") % {
            "v": current.version, "date": current.effective_from}})


def _next_rule_version(code: str) -> int:
    from django.db.models import Max

    return (WarningRule.objects.filter(code=code).aggregate(v=Max("version"))["v"] or 0) + 1


FOUR_EYES = four_eyes.FourEyes(
    model=WarningRule, permission=PUBLISH_RULE_PERMISSION, thing=gettext_lazy("warning rule version"),
    right=gettext_lazy("publish warning rules"), missing=gettext_lazy("Warning rule version #%(id)s does not exist."),
    id_field="rule_id",
)


@records_actor
def warning_rule_publish(
    *, code: str, severity: str, params: dict, effective_from: datetime.date, enabled: bool = True,
    actor=None, note: str = "", maker: str = "system:publish",
) -> WarningRule:
    """The system publishes a new version of rule ``code`` in one step and makes it the active
    one; a person never does (they propose, another approves).  Versions are never edited:
    earlier ones stay as they were (the alerts they raised name them).  Refused, with nothing
    saved, when a parameter is out of range (the error names it), the severity is not one of
    the known ones, or ``effective_from`` is before the active version's."""
    FOUR_EYES.refuse_person_publishing(actor, maker=maker)
    clean = _checked(code, severity, params, effective_from)
    with transaction.atomic():
        current = WarningRule.objects.select_for_update().filter(code=code, is_active=True).first()
        _not_before_active(current, effective_from)
        version = _next_rule_version(code)
        now = timezone.now()
        if current is not None:
            current.is_active = False  # saved (not .update()) so that the change history keeps it
            current.save(update_fields=["is_active"])
        return WarningRule.objects.create(
            code=code, version=version, is_active=True, enabled=enabled, severity=severity, params=clean,
            effective_from=effective_from, note=note[:500], maker=maker, status=RuleVersionStatus.PUBLISHED,
            based_on_version=current.version if current is not None else None, approved_at=now, decided_at=now,
        )


@records_actor
def warning_rule_propose(
    *, code: str, severity: str, params: dict, effective_from: datetime.date, enabled: bool = True,
    actor, note: str = "",
) -> WarningRule:
    """Record a proposed version of rule ``code`` (inactive; the nightly rules keep using the
    active one) until another person approves it.  Validated now, and again when approved."""
    FOUR_EYES.require_checker(actor, _("propose"))
    clean = _checked(code, severity, params, effective_from)
    with transaction.atomic():
        current = WarningRule.objects.select_for_update().filter(code=code, is_active=True).first()
        _not_before_active(current, effective_from)
        if current is not None and (enabled, severity, clean, effective_from) == (
                current.enabled, current.severity, current.params, current.effective_from):
            raise ValidationError({"__all__": _("The proposal changes nothing in the active v%(v)s.") % {"v": current.version}})
        return WarningRule.objects.create(
            code=code, version=_next_rule_version(code), is_active=False, enabled=enabled, severity=severity, params=clean,
            effective_from=effective_from, note=(note or "")[:500], maker=f"user:{actor.pk}", created_by=actor,
            status=RuleVersionStatus.PROPOSED, based_on_version=current.version if current is not None else None,
        )


@records_actor
def warning_rule_approve(*, rule_id: int, actor, note: str = "") -> WarningRule:
    """Another person publishes a proposed version: it becomes the rule's active version."""
    FOUR_EYES.require_checker(actor, _("approve"))
    with transaction.atomic():
        code = WarningRule.objects.filter(pk=rule_id).values_list("code", flat=True).first()
        current = WarningRule.objects.select_for_update().filter(code=code, is_active=True).first()
        rule = FOUR_EYES.lock(rule_id)
        four_eyes.proposal_check(rule, actor=actor, active=current)
        rule.params = _checked(rule.code, rule.severity, rule.params, rule.effective_from)
        _not_before_active(current, rule.effective_from)
        return four_eyes.proposal_publish(rule, actor=actor, active=current, note=note, also=("params",))


@records_actor
def warning_rule_reject(*, rule_id: int, actor, note: str) -> WarningRule:
    """A proposed version is turned down (or withdrawn by its maker), with a reason."""
    return FOUR_EYES.reject(rule_id, actor=actor, note=note)


def warning_rule_changes(rule: WarningRule) -> list[tuple[str, object, object]]:
    """(field, value in the version it was based on, value proposed) for every field that differs."""
    base = None
    if rule.based_on_version is not None:
        base = WarningRule.objects.filter(code=rule.code, version=rule.based_on_version).first()
    return four_eyes.proposal_changes(rule, base, VERSION_FIELDS)
