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

from scoring.models import SCORE_DROP_INDEX_POINTS

from .models import AlertStatus, EarlyWarning, Severity

RuleEvaluator = Callable[[datetime.date], int]
RULES: dict[str, RuleEvaluator] = {}

SCORE_DROP_POINTS = SCORE_DROP_INDEX_POINTS  # a drop of at least this many points against the previous score
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
    (the latest earlier-dated score, whatever the model, as recorded on the score when it was
    written: ``Score.previous_score``).  One INSERT ... SELECT over the date's scores."""
    table = EarlyWarning._meta.db_table
    # The threshold is written into the statement (an int, not user input) so that PostgreSQL
    # can match it to the partial index of drop candidates (scoring's score_drop_candidates_idx).
    select = (
        "SELECT s.subject_kind, s.subject_id, s.as_of, 'score_drop', "
        "CASE WHEN s.previous_score - s.score >= %s THEN %s ELSE %s END, s.previous_score, s.score, %s, %s "
        f"FROM scoring_score s WHERE s.as_of = %s AND s.previous_score >= s.score + {int(points)}"
    )
    cols = "subject_kind, subject_id, as_of, rule, severity, old_score, new_score, status, created_at"
    params = [
        SCORE_DROP_HIGH_POINTS, Severity.HIGH.value, Severity.MEDIUM.value, AlertStatus.OPEN.value,
        connection.ops.adapt_datetimefield_value(timezone.now()), as_of,
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
