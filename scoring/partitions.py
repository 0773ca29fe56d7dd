"""The score history by month: partitions created ahead, and retention.

On PostgreSQL ``scoring_score`` is range-partitioned on ``as_of`` by calendar month (migration
0007): ``scoring_score_YYYY_MM`` for each month, ``scoring_score_legacy`` for the rows the table
held when it was converted (from MINVALUE to the month after its last date; attached, not
copied), and ``scoring_score_default`` for a row no partition covers (a date beyond the months
created ahead, or before the first one).  A night's scores all go to one month's partition, so
its index inserts touch that partition's indexes only, whatever the length of the history.

* ``ensure_partitions`` creates this month's partition and ``SCORE_PARTITIONS_AHEAD`` months
  after it (periodic job "score partitions ahead", idempotent).  Rows already in the default
  partition for a month being created are moved into it in the same transaction.
* ``retention_plan`` / ``retention_apply`` keep detailed rows for ``SCORE_HISTORY_RETENTION_MONTHS``
  whole months before the current one: each older month is first summarised per subject and
  model into ``MonthlyScoreSummary`` (last score of the month, min, max, mean, count), then its
  partition is detached (and dropped unless ``SCORE_HISTORY_DROP_DETACHED`` is off: it stays as
  a plain table to archive with ``pg_dump -t``).  Latest-score pointers into a removed month go
  with it (as deleting a score deletes its pointer).  The legacy partition goes when its last
  month is out of retention; rows past retention in the default partition are deleted.
  On SQLite (a plain table) the old rows are summarised, then deleted.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.sqlnames import column_names

from .models import LatestScore, MonthlyScoreSummary, Score

PARENT = "scoring_score"
DEFAULT_PARTITION = "scoring_score_default"
LEGACY_PARTITION = "scoring_score_legacy"
# The pointer table, named from the model's metadata (the partition names above are the
# physical names the partitioning migration created, not a model's).
_LATEST = LatestScore._meta.db_table
# Column names likewise: a score's (the partitions have the parent's columns), a pointer's, a
# monthly summary's.
_S, _L, _M = column_names(Score), column_names(LatestScore), column_names(MonthlyScoreSummary)
# How long the partition jobs wait for their lock on the score table (the nightly run holds a
# lock that conflicts): give up and try again at the next run rather than queue behind it and
# block every reader meanwhile.
LOCK_TIMEOUT = "10s"


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def partition_name(month: datetime.date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime.date | None  # None: MINVALUE
    upper: datetime.date | None  # None: MAXVALUE
    is_default: bool = False
    estimated_rows: int = 0

    def covers(self, lo: datetime.date, hi: datetime.date) -> bool:
        """Whether this (range) partition overlaps [lo, hi)."""
        if self.is_default:
            return False
        return (self.lower is None or self.lower < hi) and (self.upper is None or lo < self.upper)


_BOUND = re.compile(r"FOR VALUES FROM \((.+?)\) TO \((.+?)\)")


def _bound(text: str) -> datetime.date | None:
    text = text.strip()
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    return datetime.date.fromisoformat(text.strip("'"))


def partitions() -> list[Partition]:
    """The partitions of the score table, ordered by range (the default last); [] when the
    table is not partitioned."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), GREATEST(c.reltuples, 0)::bigint "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound, estimate in rows:
        if bound == "DEFAULT":
            found.append(Partition(name, None, None, is_default=True, estimated_rows=estimate))
            continue
        match = _BOUND.match(bound)
        found.append(Partition(name, _bound(match.group(1)), _bound(match.group(2)), estimated_rows=estimate))
    return sorted(found, key=lambda p: (p.is_default, p.lower or datetime.date.min))


# --- statistics ------------------------------------------------------------------------------


def analyze_if_stale(as_of: datetime.date) -> str | None:
    """ANALYZE the partition holding ``as_of`` when more rows changed since its last statistics
    than the statistics know of; returns its name when it did.  A month's partition is empty
    when created: on the month's first night its statistics say "no rows" while it holds a
    night of scores, and the rules that read the night's scores right after the writes were
    planned for an empty table (related_party_deterioration: 118 s instead of 1-3 s, measured
    at 100k companies).  autovacuum analyses it too, but not necessarily before the rules run.
    The same holds on every later night whose date the statistics do not know yet
    (:func:`_date_in_statistics`), so a night normally analyses its partition once, after its
    scores are written: a sampled ANALYZE (30,000 rows whatever the partition's size)."""
    if not is_partitioned():
        return None
    found = [p for p in partitions() if p.covers(as_of, as_of + datetime.timedelta(days=1))]
    name = found[0].name if found else DEFAULT_PARTITION
    with connection.cursor() as cursor:
        # reltuples: -1 never analysed, 0 analysed while empty; n_mod_since_analyze counts
        # committed changes only (the chunks have committed when the rules run)
        cursor.execute(
            "SELECT c.reltuples, COALESCE(s.n_mod_since_analyze, 0) FROM pg_class c "
            "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = to_regclass(%s)",
            [name],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        known, changed = max(row[0], 0), row[1]
        if known > 0 and changed <= known and _date_in_statistics(cursor, name, as_of):
            return None
        if known == 0 and changed <= 1000:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name})")
            if not cursor.fetchone()[0]:
                return None
        cursor.execute(f"ANALYZE {name}")
    return name


def _date_in_statistics(cursor, name: str, as_of: datetime.date) -> bool:
    """Whether the partition's statistics know the night's date.  When every date of a month
    is a most-common value (a month has at most 31), a date written since the last ANALYZE is
    estimated at about one row however many were written (measured at 1,000,000 companies: the
    snapshot's positions planned a nested loop over tonight's 1M company scores and ran for
    more than 10 minutes), so a night always refreshes them once its scores are written."""
    cursor.execute(
        "SELECT most_common_vals::text, histogram_bounds::text FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = %s AND attname = 'as_of'",
        [name],
    )
    row = cursor.fetchone()
    if row is None:
        return False
    day = as_of.isoformat()
    common, bounds = row
    if common and day in common.strip("{}").split(","):
        return True
    if bounds:
        edges = bounds.strip("{}").split(",")
        return edges[0] <= day <= edges[-1]
    return False


# --- partitions ahead ------------------------------------------------------------------------


def ensure_partitions(*, ahead: int | None = None, today: datetime.date | None = None) -> list[str]:
    """Create the partitions of this month and of ``ahead`` months after it
    (``settings.SCORE_PARTITIONS_AHEAD``) that no partition covers yet, and the default
    partition if it is missing.  Returns the names created; nothing on a second run."""
    if not is_partitioned():
        return []
    ahead = settings.SCORE_PARTITIONS_AHEAD if ahead is None else ahead
    first = month_start(today or timezone.localdate())
    created = []
    existing = partitions()
    if not any(p.is_default for p in existing):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {PARENT} DEFAULT")
        created.append(DEFAULT_PARTITION)
    for i in range(ahead + 1):
        lo = add_months(first, i)
        hi = add_months(lo, 1)
        if any(p.covers(lo, hi) for p in existing):
            continue
        _create_month(lo, hi)
        created.append(partition_name(lo))
    return created


def _create_month(lo: datetime.date, hi: datetime.date) -> None:
    """One month's partition.  Rows of that month already in the default partition (written
    before the month was created) would make ``CREATE TABLE ... PARTITION OF`` fail: they are
    moved into the new partition in the same transaction (the default partition detached
    meanwhile; ids, dates and so the pointers that name them are unchanged)."""
    name = partition_name(lo)
    bounds = f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        stranded = False
        if _has_default(cursor):
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE as_of >= %s AND as_of < %s)", [lo, hi]
            )
            stranded = cursor.fetchone()[0]
        if not stranded:
            cursor.execute(f"CREATE TABLE {name} PARTITION OF {PARENT} {bounds}")
            return
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT_PARTITION}")
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {PARENT} {bounds}")
        cursor.execute(
            f"INSERT INTO {name} SELECT * FROM {DEFAULT_PARTITION} WHERE as_of >= %s AND as_of < %s", [lo, hi]
        )
        cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE as_of >= %s AND as_of < %s", [lo, hi])
        cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT")


def _has_default(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
    return cursor.fetchone()[0]


# --- retention -------------------------------------------------------------------------------


@dataclass
class RetentionPlan:
    cutoff: datetime.date  # detailed rows dated before this (a month's first day) are due
    months: int
    partitioned: bool
    # partitions whose whole range lies before the cutoff: summarised, then detached
    expired: list[Partition] = field(default_factory=list)
    # months (first days) to summarise before their rows go
    summarise: list[datetime.date] = field(default_factory=list)
    # rows past retention outside an expired partition (the default partition, or the plain
    # table on SQLite): summarised, then deleted
    rows_to_delete: int = 0
    pointers_to_delete: int = 0
    # partitions holding rows past retention that are kept until their last month expires
    kept: list[tuple[Partition, datetime.date]] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [
            f"retention: detailed score rows for {self.months} months; rows dated before {self.cutoff} are due "
            f"({'partitioned' if self.partitioned else 'plain table'})"
        ]
        if self.summarise:
            lines.append(
                "summarise into monthly aggregates: " + ", ".join(f"{m:%Y-%m}" for m in self.summarise)
            )
        for p in self.expired:
            lines.append(f"detach partition {p.name} [{p.lower or 'MINVALUE'}, {p.upper}) ~{p.estimated_rows} rows")
        if self.rows_to_delete:
            lines.append(f"delete {self.rows_to_delete} rows past retention "
                         f"({'from the default partition' if self.partitioned else 'from the table'})")
        if self.pointers_to_delete:
            lines.append(f"delete {self.pointers_to_delete} latest-score pointers into the removed months")
        for p, until in self.kept:
            lines.append(f"keep partition {p.name} (holds rows past retention) until its last month expires, on {until}")
        if not (self.summarise or self.expired or self.rows_to_delete):
            lines.append("nothing to do")
        return lines


def retention_cutoff(*, months: int, today: datetime.date | None = None) -> datetime.date:
    return add_months(month_start(today or timezone.localdate()), -months)


def retention_plan(*, months: int | None = None, today: datetime.date | None = None) -> RetentionPlan:
    """What ``retention_apply`` would do (reads only)."""
    months = settings.SCORE_HISTORY_RETENTION_MONTHS if months is None else months
    if months < 1:
        raise ValueError(f"SCORE_HISTORY_RETENTION_MONTHS must be at least 1, not {months}")
    cutoff = retention_cutoff(months=months, today=today)
    partitioned = is_partitioned()
    plan = RetentionPlan(cutoff=cutoff, months=months, partitioned=partitioned)
    summarise: set[datetime.date] = set()
    with connection.cursor() as cursor:
        if partitioned:
            for p in partitions():
                if p.is_default:
                    first = _min_date(cursor, p.name, cutoff)
                    if first is not None:
                        summarise |= set(_months_between(first, cutoff))
                        plan.rows_to_delete = _count(
                            cursor, f"SELECT count(*) FROM {p.name} WHERE {_S['as_of']} < %s", [cutoff]
                        )
                elif p.upper is not None and p.upper <= cutoff:
                    plan.expired.append(p)
                    first = _min_date(cursor, p.name, p.upper)
                    if first is not None:
                        summarise |= set(_months_between(first, p.upper))
                elif p.lower is None or p.lower < cutoff:
                    if _min_date(cursor, p.name, cutoff) is not None:
                        plan.kept.append((p, add_months(p.upper, months) if p.upper else None))
            for p in plan.expired:
                plan.pointers_to_delete += _count(
                    cursor, f"SELECT count(*) FROM {_LATEST} WHERE {_L['as_of']} < %s"
                    + (f" AND {_L['as_of']} >= %s" if p.lower else ""), [p.upper] + ([p.lower] if p.lower else []),
                )
            if plan.rows_to_delete:
                plan.pointers_to_delete += _count(
                    cursor, f"SELECT count(*) FROM {_LATEST} l WHERE l.{_L['as_of']} < %s AND EXISTS (SELECT 1 FROM "
                    f"{DEFAULT_PARTITION} s WHERE s.{_S['id']} = l.{_L['score_id']} AND s.{_S['as_of']} = l.{_L['as_of']})", [cutoff],
                )
        else:
            first = _min_date(cursor, PARENT, cutoff)
            if first is not None:
                summarise |= set(_months_between(first, cutoff))
                plan.rows_to_delete = _count(
                    cursor, f"SELECT count(*) FROM {PARENT} WHERE {_S['as_of']} < %s", [_day(cutoff)]
                )
                plan.pointers_to_delete = _count(
                    cursor, f"SELECT count(*) FROM {_LATEST} WHERE {_L['as_of']} < %s", [_day(cutoff)]
                )
    plan.summarise = sorted(summarise)
    return plan


def _day(value: datetime.date):
    return connection.ops.adapt_datefield_value(value)


def _min_date(cursor, table: str, before: datetime.date) -> datetime.date | None:
    cursor.execute(f"SELECT MIN({_S['as_of']}) FROM {table} WHERE {_S['as_of']} < %s", [_day(before)])
    value = cursor.fetchone()[0]
    if isinstance(value, str):  # SQLite
        value = datetime.date.fromisoformat(value)
    return value


def _count(cursor, sql: str, params) -> int:
    cursor.execute(sql, params)
    return int(cursor.fetchone()[0])


def _months_between(first: datetime.date, before: datetime.date) -> list[datetime.date]:
    month, out = month_start(first), []
    while month < before:
        out.append(month)
        month = add_months(month, 1)
    return out


# The month's aggregate per subject and model, written (or rewritten: a rerun after a failure
# between summarising and removing gives the same figures) before the month's rows go.  "Last"
# is the last score of the month: the latest date, then the latest revision.
# (the subquery ``m`` keeps the score's column names, so the outer SELECT reads them by those)
_SUMMARISE = (
    f"INSERT INTO {MonthlyScoreSummary._meta.db_table} ("
    + ", ".join(_M[c] for c in ("subject_kind", "subject_id", "month", "model_id", "model_version", "scores",
                                "first_as_of", "last_as_of", "last_score", "last_tier", "min_score", "max_score",
                                "mean_score", "created_at"))
    + f") SELECT {_S['subject_kind']}, {_S['subject_id']}, %s, {_S['model_id']}, MAX({_S['model_version']}), COUNT(*), "
    f"MIN({_S['as_of']}), MAX({_S['as_of']}), "
    f"MAX(CASE WHEN rn = 1 THEN {_S['score']} END), MAX(CASE WHEN rn = 1 THEN {_S['tier']} END), MIN({_S['score']}), "
    f"MAX({_S['score']}), AVG(CAST({_S['score']} AS double precision)), %s "
    f"FROM (SELECT {', '.join(_S[c] for c in ('subject_kind', 'subject_id', 'model_id', 'model_version', 'as_of', 'score', 'tier'))}, "
    f"ROW_NUMBER() OVER ("
    f"  PARTITION BY {_S['subject_kind']}, {_S['subject_id']}, {_S['model_id']} "
    f"ORDER BY {_S['as_of']} DESC, {_S['revision']} DESC, {_S['id']} DESC) AS rn "
    f"  FROM {Score._meta.db_table} WHERE {_S['as_of']} >= %s AND {_S['as_of']} < %s) m "
    f"WHERE true GROUP BY {_S['subject_kind']}, {_S['subject_id']}, {_S['model_id']} "
    f"ON CONFLICT ({_M['subject_kind']}, {_M['subject_id']}, {_M['month']}, {_M['model_id']}) DO UPDATE SET "
    + ", ".join(
        f"{_M[c]} = excluded.{_M[c]}"
        for c in ("model_version", "scores", "first_as_of", "last_as_of", "last_score", "last_tier", "min_score",
                  "max_score", "mean_score", "created_at")
    )
)


def summarise_month(month: datetime.date) -> int:
    """Write the monthly aggregates of ``month`` (its first day); returns the rows written."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SUMMARISE, [_day(month), now, _day(month), _day(add_months(month, 1))])
        return cursor.rowcount


@dataclass
class RetentionResult:
    summarised: dict[str, int] = field(default_factory=dict)  # month -> aggregate rows
    detached: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    rows_deleted: int = 0
    pointers_deleted: int = 0

    def describe(self) -> str:
        return (
            f"summarised {sum(self.summarised.values())} subject-months over {len(self.summarised)} months; "
            f"detached {len(self.detached)} partitions ({', '.join(self.detached) or 'none'}), dropped {len(self.dropped)}; "
            f"deleted {self.rows_deleted} rows and {self.pointers_deleted} pointers"
        )


def retention_apply(plan: RetentionPlan, *, drop: bool | None = None) -> RetentionResult:
    """Summarise every month the plan names, then remove its detailed rows: expired partitions
    detached (and dropped unless ``drop`` is False, default ``SCORE_HISTORY_DROP_DETACHED``),
    rows past retention elsewhere deleted.  Each month is summarised in its own transaction
    first (the long part, no lock beyond reading), then each removal is one short transaction
    that waits at most ``LOCK_TIMEOUT`` for its lock."""
    drop = settings.SCORE_HISTORY_DROP_DETACHED if drop is None else drop
    result = RetentionResult()
    for month in plan.summarise:
        result.summarised[f"{month:%Y-%m}"] = summarise_month(month)
    for p in plan.expired:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            # the pointers first: they name rows of this partition, which no trigger sees go
            cursor.execute(
                f"DELETE FROM {_LATEST} WHERE {_L['as_of']} < %s" + (f" AND {_L['as_of']} >= %s" if p.lower else ""),
                [p.upper] + ([p.lower] if p.lower else []),
            )
            result.pointers_deleted += cursor.rowcount
            cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {p.name}")
            result.detached.append(p.name)
            if drop:
                cursor.execute(f"DROP TABLE {p.name}")
                result.dropped.append(p.name)
    if plan.rows_to_delete:
        with transaction.atomic(), connection.cursor() as cursor:
            if plan.partitioned:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                cursor.execute(
                    f"SELECT count(*) FROM {_LATEST} l WHERE l.{_L['as_of']} < %s AND EXISTS (SELECT 1 FROM "
                    f"{DEFAULT_PARTITION} s WHERE s.{_S['id']} = l.{_L['score_id']} AND s.{_S['as_of']} = l.{_L['as_of']})", [plan.cutoff],
                )
                result.pointers_deleted += cursor.fetchone()[0]
                # through the parent, so the delete trigger removes the pointers
                cursor.execute(
                    f"DELETE FROM {PARENT} WHERE {_S['as_of']} < %s AND tableoid = %s::regclass",
                    [plan.cutoff, DEFAULT_PARTITION],
                )
            else:
                cursor.execute(f"SELECT count(*) FROM {_LATEST} WHERE {_L['as_of']} < %s", [_day(plan.cutoff)])
                result.pointers_deleted += cursor.fetchone()[0]
                cursor.execute(f"DELETE FROM {PARENT} WHERE {_S['as_of']} < %s", [_day(plan.cutoff)])
            result.rows_deleted = cursor.rowcount
    return result
