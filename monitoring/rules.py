"""Early-warning rules: a small registry of set-based evaluators.

A rule is a function ``(as_of) -> int`` that writes ``EarlyWarning`` rows for the date in one
or a few statements (never a loop over subjects) and returns how many it created.  Re-running
a rule for a date creates nothing new: rows are unique per (subject, date, rule).

Register more with ``@register("code")``; the nightly run evaluates every registered rule in
step 3, after persons and companies are rescored.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import connection
from django.utils import timezone

from .models import AlertStatus, EarlyWarning, Severity

RuleEvaluator = Callable[[datetime.date], int]
RULES: dict[str, RuleEvaluator] = {}

SCORE_DROP_POINTS = 50  # a drop of at least this many points against the previous score
SCORE_DROP_HIGH_POINTS = 100  # ... and from this many the warning is high severity


def register(code: str) -> Callable[[RuleEvaluator], RuleEvaluator]:
    def deco(fn: RuleEvaluator) -> RuleEvaluator:
        RULES[code] = fn
        return fn

    return deco


def rules_evaluate(*, as_of: datetime.date) -> dict[str, int]:
    """Run every registered rule for ``as_of``; {rule code: warnings created}."""
    return {code: fn(as_of) for code, fn in RULES.items()}


@register("score_drop")
def score_drop(as_of: datetime.date, *, points: int = SCORE_DROP_POINTS) -> int:
    """Subjects whose score on ``as_of`` is at least ``points`` below their previous score
    (the latest earlier-dated score, whatever the model).  One INSERT ... SELECT."""
    table = EarlyWarning._meta.db_table
    # The previous score is one backward index probe per scored subject, LIMIT 1 (on PostgreSQL
    # the unique (kind, subject, date, model) index: ties on a date go to the newest model).
    # Adding "p.id DESC" to the ORDER BY forces a sort per probe and made the rule 3x slower.
    select = (
        "SELECT x.subject_kind, x.subject_id, x.as_of, 'score_drop', "
        "CASE WHEN x.old_score - x.new_score >= %s THEN %s ELSE %s END, x.old_score, x.new_score, %s, %s "
        "FROM (SELECT s.subject_kind, s.subject_id, s.as_of, s.score AS new_score, "
        "  (SELECT p.score FROM scoring_score p WHERE p.subject_kind = s.subject_kind "
        "     AND p.subject_id = s.subject_id AND p.as_of < s.as_of "
        "     ORDER BY p.as_of DESC LIMIT 1) AS old_score "
        "  FROM scoring_score s WHERE s.as_of = %s) x "
        "WHERE x.old_score - x.new_score >= %s"
    )
    cols = "subject_kind, subject_id, as_of, rule, severity, old_score, new_score, status, created_at"
    params = [
        SCORE_DROP_HIGH_POINTS, Severity.HIGH.value, Severity.MEDIUM.value, AlertStatus.OPEN.value,
        connection.ops.adapt_datetimefield_value(timezone.now()), as_of, points,
    ]
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} ({cols}) {select} "
            "ON CONFLICT (subject_kind, subject_id, as_of, rule) DO NOTHING"
        )
    else:
        sql = f"INSERT OR IGNORE INTO {table} ({cols}) {select}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
