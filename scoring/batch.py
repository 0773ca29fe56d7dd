"""Set-based scoring of a chunk of subjects: the nightly run and on-demand scoring share it.

For a chunk: one query reads the latest snapshot on or before ``as_of`` per subject and
whether the subject already has a score for (as_of, champion) (``selectors.latest_snapshots``:
the latest-score pointer answers, a probe only when it must); the compiled champion (cached
in-process per model) scores the whole chunk with NumPy, company composites included
(``composite.composite_batch``); subjects already scored for (as_of, model) are skipped (a
re-run writes nothing new).  Each score records the subject's previous score as it is written
(``Score.previous_score``, what the score-drop rule reads).  On PostgreSQL one statement
inserts the scores and moves the latest-score pointers of exactly the rows inserted (``WITH
ins AS (INSERT ... RETURNING ...) INSERT INTO scoring_latestscore ... ON CONFLICT DO UPDATE``,
never backwards), fed by a multi-row VALUES for a few rows and by COPY of preformatted text
through a temporary table for many (first without ON CONFLICT, see ``_pg_copy``); elsewhere
executemany, then the pointer statement.

Subjects without a snapshot on or before ``as_of`` are skipped and counted (in the ``RunStats``
a caller passes as ``stats``).  The range entry points pause the cyclic GC (``gc_paused``).
Person chunks should run before company chunks: a company composite reads its related
parties' latest person scores on or before ``as_of``.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.sqlnames import column_names

from . import selectors
from .composite import DEFAULT_CAP, PARTIES_LOW_POINTS, composite_batch
from .models import LatestScore, Score
from .reasons import COMPOSITE_REASONS
from .scorer import N_REASONS, score_batch, tiers_for_scores

log = logging.getLogger(__name__)

COPY_THRESHOLD = 500  # below this many rows, a plain multi-row INSERT is faster than COPY
_COPY_SLICE = 2_500  # rows formatted and sent to COPY at a time


@dataclass
class RunStats:
    """What one chunk found; filled in when a caller passes one as ``stats`` (a chunk may run
    on any thread, so there is no module-level "last run")."""

    subject_kind: str = ""
    candidates: int = 0
    no_snapshot: int = 0
    already_scored: int = 0
    written: int = 0


def score_person_range(*, id_from: int, id_to: int, as_of: datetime.date, stats: RunStats | None = None) -> int:
    """Score persons with id in [id_from, id_to) for ``as_of``; returns the number written."""
    with gc_paused():
        return _score_chunk("person", as_of=as_of, id_from=id_from, id_to=id_to, stats=stats)


def score_company_range(*, id_from: int, id_to: int, as_of: datetime.date, stats: RunStats | None = None) -> int:
    """Score companies with id in [id_from, id_to) for ``as_of`` (composite with their related
    parties' latest scores); returns the number written."""
    with gc_paused():
        return _score_chunk("company", as_of=as_of, id_from=id_from, id_to=id_to, stats=stats)


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused():
    """The cyclic garbage collector off while a chunk runs.  A chunk allocates about a million
    short-lived tuples, lists and strings and makes no reference cycles, yet every collection
    those allocations trigger walks the survivors: 20-25% of a chunk's Python time, measured.
    Reference counting still frees everything as usual.  Counted, so that with chunks on
    several threads the collector comes back on when the last one ends."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def score_persons(*, person_ids: Sequence[int], as_of: datetime.date, force: bool = False, champion=None) -> int:
    """Score these persons for ``as_of``.  A person already scored that day from the same
    snapshot is skipped unless ``force``; from other data, the next revision is written.
    ``champion``: a ``selectors.Champion`` already read (saves a query)."""
    return _score_chunk("person", as_of=as_of, ids=list(person_ids), force=force, champion=champion)


def score_companies(*, company_ids: Sequence[int], as_of: datetime.date, force: bool = False, champion=None) -> int:
    """Score these companies for ``as_of``.  ``force``: write the next revision even when the
    company's own snapshot did not change (a related party's did: the composite moves)."""
    return _score_chunk("company", as_of=as_of, ids=list(company_ids), force=force, champion=champion)


# --- the chunk ---------------------------------------------------------------------------


def _score_chunk(kind: str, *, as_of, id_from=None, id_to=None, ids=None, champion=None, written=None,
                 stats: RunStats | None = None, force: bool = False) -> int:
    """Score one chunk.  ``champion``: a ``selectors.Champion`` when the caller already read the
    champions (on-demand scoring), saving a query; the compiled scorecard comes from the
    in-process cache either way.  ``written``: a dict (on-demand scoring) that receives, under
    ``"rows"``, the rows written as ``(WRITTEN_COLUMNS..., pointer_moved)`` tuples when the
    writing statement can return them (PostgreSQL, a few rows), saving a re-read, and under
    ``"attempted"`` the number of rows it tried to insert (more than written: a concurrent
    writer got there first); the keys are absent when it cannot.  ``force``: rescore subjects
    already scored for the date from the same snapshot too (as the next revision).  After
    company scores are written, ``signals.company_scores_written`` is sent."""
    stats = stats if stats is not None else RunStats()
    if written is not None:
        written.clear()
    chunk = _prepare_chunk(kind, as_of=as_of, id_from=id_from, id_to=id_to, ids=ids, champion=champion, stats=stats,
                           force=force)
    if chunk is None:
        if written is not None:
            written["rows"], written["attempted"] = [], 0
        return 0
    count = _write_scores_and_move_latest(chunk, id_from, id_to, ids, written)
    stats.written = count
    _announce(chunk, count)
    return count


def _announce(chunk: _Chunk, count: int) -> None:
    if chunk.kind == "company" and count:
        from .signals import company_scores_written

        company_scores_written.send(sender=Score, company_ids=chunk.subject_ids.tolist(), as_of=chunk.as_of)


def _prepare_chunk(kind: str, *, as_of, id_from=None, id_to=None, ids=None, champion=None, stats: RunStats,
                   force=False, snapshots=None, parties=None) -> _Chunk | None:
    """Read (unless given) and score one chunk; None when there is nothing to write.
    ``force``: True, or the ids of the subjects to rescore even from the same snapshot.
    ``snapshots`` (columns, rows of ``selectors.latest_snapshots`` read with the champion's id)
    and, for companies, ``parties`` (``selectors.parties_rows``): already read by the caller,
    rows of other subjects ignored (the event pipeline)."""
    stats.subject_kind = kind
    if ids is not None and not ids:
        return None
    if champion is None:
        model_id, version, compiled = selectors.champion(kind)
    else:
        model_id, version = champion.model_id, champion.version
        compiled = selectors.champion_compiled(kind, champion)

    if snapshots is None:
        cols, rows = selectors.latest_snapshots(
            kind, as_of=as_of, id_from=id_from, id_to=id_to, ids=ids, scored_by_model=model_id
        )
    else:
        cols, rows = snapshots
        wanted = set(ids)
        rows = [r for r in rows if r[0] in wanted]
    if ids is not None:
        stats.candidates = len(set(ids))
    else:
        from loans.parties.models import Company, Person

        subject_model = Person if kind == "person" else Company
        stats.candidates = subject_model.objects.filter(id__gte=id_from, id__lt=id_to).count()
    stats.no_snapshot = max(stats.candidates - len(rows), 0)
    if not rows:
        return None

    # None -> NaN; the last three columns: the snapshot's date (days since 1970-01-01), the
    # day's latest revision (packed: revision * 2 + 1 if from this snapshot), the previous
    # score if known
    data = np.array(rows, dtype=float)
    existing = data[:, -2]
    has_revision = ~np.isnan(existing)
    if force is True:
        same_data = np.zeros(len(data), dtype=bool)
    else:
        same_data = has_revision & (np.fmod(existing, 2) == 1)
        if force:  # these subjects are rescored whatever their snapshot
            same_data &= ~np.isin(data[:, 0].astype(np.int64), np.fromiter(force, dtype=np.int64))
    stats.already_scored = int(same_data.sum())
    if stats.already_scored:
        data = data[~same_data]
    if not len(data):
        return None
    subject_ids = data[:, 0].astype(np.int64)
    first_feature = 2 if kind == "person" else 1
    in_default = data[:, 1] > 0 if kind == "person" else np.zeros(len(data), dtype=bool)
    feats = {name: data[:, first_feature + i] for i, name in enumerate(cols[first_feature:])}
    batch = score_batch(compiled, feats)

    dim_points = np.round(batch.dimension_points(), 1)
    codes = batch.reason_codes
    lost = np.round(batch.points_lost, 1)
    scores = batch.score.astype(np.int64)
    pds = batch.pd
    tiers = batch.tier
    components = None

    if kind == "company":
        scores, pds, tiers, codes, lost, components = _composites(
            compiled, as_of, subject_ids, scores, pds, tiers, codes, lost, id_from, id_to, ids, parties
        )

    existing = data[:, -2]
    revisions = np.where(np.isnan(existing), 1, np.floor_divide(np.nan_to_num(existing), 2) + 1).astype(np.int64)
    return _Chunk(
        kind=kind, as_of=as_of, model_id=model_id, version=version, now=timezone.now(),
        subject_ids=subject_ids, scores=scores, pds=pds, tiers=tiers, in_default=in_default,
        revisions=revisions, data_days=data[:, -3].astype(np.int64),
        known_previous=data[:, -1],
        dimension_points=_dimension_points_json(compiled.dimensions, dim_points),
        reason_codes=_reason_codes_json(codes, lost),
        components=components,
    )


# --- event-driven rescoring on PostgreSQL: fewer round trips ------------------------------


def score_event(*, person_ids: Sequence[int], direct: Sequence[int], dependents: Sequence[int], inline: int, as_of,
                champions: dict, person_snapshots=None) -> tuple[int, list[int], int]:
    """Event-driven rescoring on PostgreSQL (``rescoring.rescore``): the persons, then the
    companies ``direct`` (their own new data) and, when a person's score was written, the
    ``dependents`` (at most ``inline`` of them; more go to a worker, so none here) rescored
    whatever their own snapshot.  The same statements and results as ``score_persons`` then
    ``score_companies``, in fewer round trips: the persons' write and the companies' two reads
    (snapshots, parties with their latest scores, which see the persons' new scores: a
    pipeline's statements run in order) go in one, then the companies' write.  With the
    champions' read (the persons' snapshots beside it: ``person_snapshots``, as
    ``selectors.latest_snapshots`` returns them, None to read them here) and the protective
    check, four round trips for an event instead of seven.
    Returns (persons written, companies scored in this process, companies written)."""
    direct, dependents = list(direct), list(dependents)
    person_stats, company_stats = RunStats(), RunStats()
    person_chunk = None
    if person_ids:
        person_chunk = _prepare_chunk("person", as_of=as_of, ids=list(person_ids), champion=champions["person"],
                                      stats=person_stats, snapshots=person_snapshots)
    inline_dependents = dependents if len(dependents) <= inline else []
    to_read = sorted(set(direct) | set(inline_dependents))
    statements = []
    if person_chunk is not None:
        statements.append(_pg_insert_statement(person_chunk, returning=False))
    if to_read:
        company_model = champions["company"].model_id
        cols, sql, params = selectors.latest_snapshots_statement("company", as_of=as_of, ids=to_read,
                                                                 scored_by_model=company_model)
        statements += [(sql, params), selectors.parties_statement(as_of=as_of, ids=to_read)]
    results = pipelined(statements)
    persons_written = results.pop(0)[0][0] if person_chunk is not None else 0
    if persons_written:
        own = [c for c in direct if c not in set(dependents)]
        companies, forced = own + inline_dependents, set(inline_dependents)
    else:
        companies, forced = direct, set()
    if not companies:
        return persons_written, [], 0
    snapshot_rows, party_rows = results
    company_chunk = _prepare_chunk(
        "company", as_of=as_of, ids=companies, champion=champions["company"], stats=company_stats, force=forced,
        snapshots=(cols, snapshot_rows), parties=selectors.parties_rows(party_rows),
    )
    written = 0
    if company_chunk is not None:
        written = _pg_insert(company_chunk)
        _announce(company_chunk, written)
    return persons_written, companies, written


def pipelined(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run the statements in order in one round trip (psycopg's pipeline mode: sent together,
    answered together; each sees what the ones before it wrote) and return each one's rows."""
    if not statements:
        return []
    connection.ensure_connection()
    cursors = [connection.cursor() for _ in statements]
    try:
        with connection.connection.pipeline():
            for cursor, (sql, params) in zip(cursors, statements):
                cursor.execute(sql, params)
        return [cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def _composites(compiled, as_of, company_ids, own_scores, pds, tiers, codes, lost, id_from, id_to, ids, parties=None):
    """Combine each company's own score with its current related parties' latest scores
    (``composite.composite_batch``: the composite formula over the whole chunk at once);
    ``parties``: already read by the caller."""
    if parties is None:
        parties = selectors.parties_of_companies_with_latest_scores(as_of=as_of, id_from=id_from, id_to=id_to, ids=ids)
    position = {cid: i for i, cid in enumerate(company_ids.tolist())}
    parties = [p for p in parties if p[0] in position]  # companies without credit data drop out
    n = len(company_ids)
    cb = composite_batch(
        own_scores=own_scores, own_pds=pds,
        company_index=[position[p[0]] for p in parties],
        person_ids=[p[1] for p in parties], roles=[p[2] for p in parties], ownership_pcts=[p[3] for p in parties],
        party_scores=[np.nan if p[4] is None else p[4] for p in parties],
        party_in_default=[bool(p[5]) for p in parties],
    )
    with np.errstate(over="ignore"):
        new_pds = 1.0 / (1.0 + np.exp((np.where(cb.capped, cb.score, cb.uncapped) - compiled.offset) / compiled.factor))
    new_tiers = tiers_for_scores(compiled, cb.score)
    # reason codes: R01 (a party in default), R02 (parties pull the score down), then the
    # company's own codes; the first four that are present
    own = np.asarray(own_scores, dtype=float)
    r01_lost = np.array([round(v, 1) for v in np.maximum(cb.uncapped - DEFAULT_CAP, 0.0).tolist()])
    r02_lost = np.array([round(v, 1) for v in (own - cb.uncapped).tolist()])
    all_codes = np.empty((n, 2 + codes.shape[1]), dtype=object)
    all_codes[:, 0] = np.where(cb.any_in_default, COMPOSITE_REASONS["related_party_in_default"][0], "")
    all_codes[:, 1] = np.where(own - cb.uncapped >= PARTIES_LOW_POINTS, COMPOSITE_REASONS["related_parties_low"][0], "")
    all_codes[:, 2:] = codes
    all_lost = np.column_stack([r01_lost, r02_lost, lost]) if n else np.zeros((0, 2 + codes.shape[1]))
    empty = all_codes == ""
    all_lost[empty] = 0.0
    order = np.argsort(empty, axis=1, kind="stable")[:, :N_REASONS]  # present codes first, in order
    new_codes = np.take_along_axis(all_codes, order, axis=1)
    new_lost = np.take_along_axis(all_lost, order, axis=1)
    return cb.score, new_pds, new_tiers, new_codes, new_lost, cb.components_json


# --- writing -----------------------------------------------------------------------------

_COLUMNS = (
    "subject_kind", "subject_id", "as_of", "model_id", "model_version", "score", "pd", "tier",
    "in_default", "dimension_points", "reason_codes", "components", "created_at", "revision", "data_as_of",
)
_EPOCH = datetime.date(1970, 1, 1)


@dataclass
class _Chunk:
    """A scored chunk, column-wise; the JSON columns already serialised."""

    kind: str
    as_of: datetime.date
    model_id: int
    version: int
    now: datetime.datetime
    subject_ids: np.ndarray
    scores: np.ndarray
    pds: np.ndarray
    tiers: np.ndarray
    in_default: np.ndarray
    revisions: np.ndarray  # 1, or the day's latest revision + 1
    data_days: np.ndarray  # the snapshot's date, days since 1970-01-01
    known_previous: np.ndarray  # the previous score from the pointer read with the chunk; NaN: look it up
    dimension_points: list[str]
    reason_codes: list[str]
    components: list[str] | None  # company composites only

    def __len__(self) -> int:
        return len(self.subject_ids)

    def data_dates(self) -> list[datetime.date]:
        days = self.data_days.tolist()
        dates = {d: _EPOCH + datetime.timedelta(days=d) for d in set(days)}  # a handful of distinct days
        return [dates[d] for d in days]

    def columns(self, dates_as_text: bool = False) -> list[list]:
        """The per-row values in ``_COLUMNS`` order (without the constant kind, date, model,
        version and time), then the known previous score (None: unknown)."""
        n = len(self)
        days = self.data_days.tolist()
        dates = {d: _EPOCH + datetime.timedelta(days=d) for d in set(days)}  # a handful of distinct days
        if dates_as_text:
            dates = {d: v.isoformat() for d, v in dates.items()}
        return [
            self.subject_ids.tolist(), self.scores.tolist(), self.pds.tolist(), self.tiers.tolist(),
            self.in_default.tolist(), self.dimension_points, self.reason_codes,
            self.components if self.components is not None else [None] * n,
            self.revisions.tolist(), [dates[d] for d in days],
            [None if v != v else int(v) for v in self.known_previous.tolist()],  # v != v: NaN
        ]


def _dimension_points_json(dims, dim_points: np.ndarray) -> list[str]:
    """json.dumps({dimension: points}) of every row, through one format string per row: the
    same text (floats print as repr in both) at a fraction of the cost."""
    template = "{" + ", ".join(json.dumps(d).replace("%", "%%") + ": %r" for d in dims) + "}"
    return [template % tuple(row) for row in dim_points.tolist()]


_CODE_JSON: dict[str, str] = {}


def _reason_codes_json(codes: np.ndarray, lost: np.ndarray) -> list[str]:
    """json.dumps([{"code", "points_lost"}, ...]) of every row (empty codes left out)."""
    code_json = _CODE_JSON
    out = []
    for row_codes, row_lost in zip(codes.tolist(), lost.tolist()):
        items = []
        for c, lv in zip(row_codes, row_lost):
            if c:
                cj = code_json.get(c)
                if cj is None:
                    cj = code_json[c] = json.dumps(c)
                items.append(f'{{"code": {cj}, "points_lost": {lv!r}}}')
        out.append("[" + ", ".join(items) + "]")
    return out


def _write_scores_and_move_latest(chunk: _Chunk, id_from, id_to, ids, written=None) -> int:
    """Append the chunk's scores (a subject already scored for the date by the model is left
    alone: ON CONFLICT DO NOTHING, so a concurrent worker on the same chunk cannot make the
    write fail) and move the latest-score pointers of the rows written, never backwards."""
    if connection.vendor == "postgresql":
        if len(chunk) >= COPY_THRESHOLD:
            with transaction.atomic(savepoint=False):  # the temporary table lives until commit
                return _pg_copy(chunk)
        if written is None:
            return _pg_insert(chunk)
        written["attempted"] = len(chunk)
        rows = written["rows"] = _pg_insert(chunk, returning=True)
        return len(rows)
    with transaction.atomic(savepoint=False):
        written = _insert_rows(chunk)
        _move_latest(chunk.kind, chunk.as_of, chunk.model_id, id_from, id_to, ids)
    return written


# Moving a pointer, in both writers: to the score from newer data only (by data date, then by
# score date, then by score id: a same-day rescore, a later revision, has the higher id).  The
# pointer's ``scored_through`` (the latest date any score of the subject bears) moves forward
# whether the pointer does or not: a chunk's read learns from it whether a score of its date can
# exist (``selectors.latest_snapshots``).
# Table names from the models' metadata, not typed in (the models are loaded: imported above).
# Column names likewise (``_S``: a score's, ``_L``: a pointer's); the columns of the load
# table, the VALUES list and ``_score_load`` (``t.``), are the statements' own names.
_SCORES, _LATEST = Score._meta.db_table, LatestScore._meta.db_table
_S, _L = column_names(Score), column_names(LatestScore)
_NEWER = (
    f"({_LATEST}.{_L['data_as_of']}, {_LATEST}.{_L['as_of']}, {_LATEST}.{_L['score_id']}) "
    f"< (excluded.{_L['data_as_of']}, excluded.{_L['as_of']}, excluded.{_L['score_id']})"
)
_POINTER_UPSERT = (
    f"ON CONFLICT ({_L['subject_kind']}, {_L['subject_id']}) DO UPDATE SET "
    + ", ".join(
        f"{_L[c]} = CASE WHEN {_NEWER} THEN excluded.{_L[c]} ELSE {_LATEST}.{_L[c]} END"
        for c in ("score_id", "as_of", "data_as_of", "score", "tier", "in_default")
    )
    + f", {_L['scored_through']} = CASE WHEN {_LATEST}.{_L['scored_through']} < excluded.{_L['as_of']} "
    f"THEN excluded.{_L['as_of']} ELSE {_LATEST}.{_L['scored_through']} END "
)
# The pointer's columns as its writers fill them (from a score's of the same names)
_POINTER_COLUMNS = ("subject_kind", "subject_id", "score_id", "as_of", "data_as_of", "scored_through", "score",
                    "tier", "in_default")
_POINTER_FROM = ("subject_kind", "subject_id", "id", "as_of", "data_as_of", "as_of", "score", "tier", "in_default")


# One statement: the scores inserted, each with its subject's previous score, and the
# pointers of exactly those rows moved.  The previous score usually comes with the rows
# (``known_previous``: the subject's pointer, read with its snapshot, was dated before the new
# score).  Otherwise (a same-day rescore: the previous revision; a back-dated re-run, a second
# model on the same date, a subject never scored) one backward probe of the subject's history
# up to the score's date answers, so the cost follows the chunk, never the history.
_PG_WRITE = (
    f"WITH ins AS (INSERT INTO {_SCORES} ({{cols}}, {_S['previous_score']}) "
    "SELECT {t_cols}, COALESCE(t.known_previous, "
    f"(SELECT p.{_S['score']} FROM {_SCORES} p WHERE p.{_S['subject_kind']} = t.subject_kind "
    f"AND p.{_S['subject_id']} = t.subject_id"
    f"  AND p.{_S['as_of']} <= t.as_of ORDER BY p.{_S['as_of']} DESC, p.{_S['id']} DESC LIMIT 1)) "
    "FROM {source} "
    "{on_conflict}"
    "RETURNING {returning}), "
    f"moved AS (INSERT INTO {_LATEST} ({', '.join(_L[c] for c in _POINTER_COLUMNS)}) "
    f"SELECT {', '.join(_S[c] for c in _POINTER_FROM)} "
    "FROM ins "
    + _POINTER_UPSERT
    + f"RETURNING {_L['score_id']}) "
    "{final}"
)
# A subject already scored for the date by the model is left alone (a concurrent writer got
# there first); the nightly chunk's first attempt goes without (see ``_pg_copy``).
_SKIP_SCORED = (f"ON CONFLICT ({_S['subject_kind']}, {_S['subject_id']}, {_S['as_of']}, {_S['model_id']}, "
                f"{_S['revision']}) DO NOTHING ")
_SCORE_UNIQUE = "score_unique_subject_date_model_revision"
_PG_RETURN_COUNT = dict(
    returning=", ".join(_S[c] for c in ("id", "subject_kind", "subject_id", "as_of", "data_as_of", "score", "tier",
                                         "in_default")),
    final="SELECT count(*) FROM ins",
)

# The columns of a written row that on-demand scoring reads back (``api``), in this order.
WRITTEN_COLUMNS = (
    "id", "subject_kind", "subject_id", "as_of", "model_id", "model_version", "score", "pd", "tier",
    "in_default", "reason_codes", "components", "revision", "data_as_of",
)
_PG_RETURN_ROWS = dict(
    returning=", ".join(_S[c] for c in WRITTEN_COLUMNS),
    final=(
        "SELECT " + ", ".join(f"i.{_S[c]}" for c in WRITTEN_COLUMNS)
        + f", EXISTS (SELECT 1 FROM moved m WHERE m.{_L['score_id']} = i.{_S['id']}) FROM ins i"
    ),
)
# PostgreSQL types of the written columns: the few-row VALUES list is typed (a VALUES list in
# FROM does not take its types from the target table) and the COPY staging table uses them.
_PG_TYPES = {
    "subject_kind": "varchar(8)", "subject_id": "bigint", "as_of": "date", "model_id": "bigint",
    "model_version": "integer", "score": "smallint", "pd": "double precision", "tier": "varchar(1)",
    "in_default": "boolean", "dimension_points": "json", "reason_codes": "json", "components": "json",
    "created_at": "timestamptz", "known_previous": "smallint", "revision": "smallint", "data_as_of": "date",
}
_T_COLS = ", ".join(f"t.{c}" for c in _COLUMNS)
# What the writers feed the statement: the score's columns and the previous score if known.
_LOAD_COLUMNS = (*_COLUMNS, "known_previous")


@functools.lru_cache(maxsize=64)
def _pg_insert_sql(n_rows: int, returning: bool) -> str:
    row_sql = "(" + ", ".join(f"%s::{_PG_TYPES[c]}" for c in _LOAD_COLUMNS) + ")"
    cols = ", ".join(_S[c] for c in _COLUMNS)
    source = "(VALUES " + ", ".join([row_sql] * n_rows) + ") AS t (" + ", ".join(_LOAD_COLUMNS) + ")"
    return _PG_WRITE.format(
        cols=cols, t_cols=_T_COLS, source=source, on_conflict=_SKIP_SCORED,
        **(_PG_RETURN_ROWS if returning else _PG_RETURN_COUNT),
    )


def _pg_insert(chunk: _Chunk, returning: bool = False):
    """A few rows (on-demand scoring): one multi-row INSERT that also moves the pointers.
    Returns the number written, or with ``returning`` the rows written (``WRITTEN_COLUMNS`` and
    whether the subject's pointer moved to the row)."""
    sql, params = _pg_insert_statement(chunk, returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else cursor.fetchone()[0]


def _pg_insert_statement(chunk: _Chunk, returning: bool) -> tuple[str, list]:
    params = []
    head = (chunk.kind,)
    for sid, score, pd, tier, dflt, dims, reasons, comps, rev, data_day, prev in zip(*chunk.columns()):
        params.extend(head)
        params.extend(
            (sid, chunk.as_of, chunk.model_id, chunk.version, score, pd, tier, dflt, dims, reasons, comps, chunk.now,
             rev, data_day, prev)
        )
    return _pg_insert_sql(len(chunk), returning), params


def _copy_escape(text: str) -> str:
    # COPY text format: a backslash starts an escape (JSON never holds a raw tab or newline)
    return text.replace("\\", "\\\\") if "\\" in text else text


_CREATE_LOAD_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS _score_load ("
    + ", ".join(f"{c} {_PG_TYPES[c]}" for c in _LOAD_COLUMNS)
    + ") ON COMMIT DELETE ROWS"
)


@functools.lru_cache(maxsize=2)
def _pg_copy_write_sql(skip_scored: bool) -> str:
    return _PG_WRITE.format(
        cols=", ".join(_S[c] for c in _COLUMNS), t_cols=_T_COLS, source="_score_load t",
        on_conflict=_SKIP_SCORED if skip_scored else "", **_PG_RETURN_COUNT,
    )


def _pg_copy(chunk: _Chunk) -> int:
    """Many rows (the nightly run): COPY preformatted text (in slices) into a temporary table,
    then one statement inserts the scores and moves the pointers.

    The chunk's rows are the subjects its read found unscored for (date, model), so the insert
    first goes without ON CONFLICT: a speculative insertion probes the unique index once more
    and writes a confirmation record per row (~10% of the statement).  A score written for one
    of those subjects since the read (an on-demand score for the same date) makes that attempt
    fail on the unique index; it is rolled back to its savepoint and the statement runs again,
    leaving such subjects alone."""
    cols = ", ".join(_LOAD_COLUMNS)
    head = f"{chunk.kind}\t%d\t{chunk.as_of.isoformat()}\t{int(chunk.model_id)}\t{int(chunk.version)}\t"
    tail = f"\t{chunk.now.isoformat()}\t%d\t%s\t%s\n"
    line = head + "%d\t%r\t%s\t%s\t%s\t%s\t%s" + tail
    sid, score, pd, tier, dflt, dims, reasons, comps, revs, data_days, prev = chunk.columns(dates_as_text=True)
    dflt = ["t" if d else "f" for d in dflt]
    comps = ["\\N" if c is None else _copy_escape(c) for c in comps]
    prev = ["\\N" if p is None else p for p in prev]
    rows = list(zip(
        sid, score, pd, tier, dflt, map(_copy_escape, dims), map(_copy_escape, reasons), comps, revs, data_days, prev
    ))
    with connection.cursor() as cursor:
        cursor.execute(_CREATE_LOAD_TABLE)
        with cursor.cursor.copy(f"COPY _score_load ({cols}) FROM STDIN") as copy:
            # in slices: a company chunk's text is ~30 MB, and psycopg holds an encoded copy of
            # each block it is given; slices keep both small
            for start in range(0, len(rows), _COPY_SLICE):
                copy.write("".join([line % row for row in rows[start:start + _COPY_SLICE]]))
        try:
            with transaction.atomic():  # a savepoint: a conflict undoes this statement only
                cursor.execute(_pg_copy_write_sql(skip_scored=False))
        except IntegrityError as exc:
            if not _violates_score_identity(exc):
                raise
            cursor.execute(_pg_copy_write_sql(skip_scored=True))
        written = cursor.fetchone()[0]
        cursor.execute("TRUNCATE _score_load")
    return written


def _violates_score_identity(exc: IntegrityError) -> bool:
    """Whether ``exc`` is a violation of ``score_unique_subject_date_model_revision``.  On the
    partitioned table (PostgreSQL, ``scoring.partitions``) the error names the index of the
    partition the row went to, which is attached to that one: asked of the catalogue, on this
    rare path only."""
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name == _SCORE_UNIQUE:
        return True
    if name is None or getattr(diag, "sqlstate", None) != "23505":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE c.relname = %s AND i.inhparent = to_regclass(%s))",
            [name, _SCORE_UNIQUE],
        )
        return cursor.fetchone()[0]


def _insert_rows(chunk: _Chunk) -> int:
    """Other databases (SQLite in development and tests): executemany, conflicts ignored."""
    ops = connection.ops
    as_of = ops.adapt_datefield_value(chunk.as_of)
    now = ops.adapt_datetimefield_value(chunk.now)
    rows = [
        (chunk.kind, sid, as_of, chunk.model_id, chunk.version, score, pd, tier, dflt, dims, reasons, comps, now,
         rev, ops.adapt_datefield_value(data_day), prev, chunk.kind, sid, as_of)
        for sid, score, pd, tier, dflt, dims, reasons, comps, rev, data_day, prev in zip(*chunk.columns())
    ]
    # The previous score as read with the chunk, else by one backward probe of the subject's
    # history (``WHERE true``: SQLite needs it to tell an INSERT ... SELECT's ON CONFLICT from a
    # join's ON).
    sql = (
        f"INSERT INTO {Score._meta.db_table} ({', '.join(_S[c] for c in _COLUMNS)}, {_S['previous_score']}) "
        f"SELECT {', '.join(['%s'] * len(_COLUMNS))}, COALESCE(%s, (SELECT p.{_S['score']} FROM {Score._meta.db_table} p "
        f"WHERE p.{_S['subject_kind']} = %s AND p.{_S['subject_id']} = %s AND p.{_S['as_of']} <= %s "
        f"ORDER BY p.{_S['as_of']} DESC, p.{_S['id']} DESC LIMIT 1)) "
        f"WHERE true {_SKIP_SCORED.rstrip()}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
        return cursor.rowcount


def _move_latest(kind, as_of, model_id, id_from, id_to, ids) -> None:
    """Point each subject of the chunk at its newest score, in one statement, never backwards."""
    if ids is not None:
        subject_sql = f"s.{_S['subject_id']} IN (" + ", ".join(["%s"] * len(ids)) + ")"
        subject_params = list(ids)
    else:
        subject_sql = f"s.{_S['subject_id']} >= %s AND s.{_S['subject_id']} < %s"
        subject_params = [id_from, id_to]
    sql = (
        f"INSERT INTO {_LATEST} ({', '.join(_L[c] for c in _POINTER_COLUMNS)}) "
        f"SELECT {', '.join(f's.{_S[c]}' for c in _POINTER_FROM)} "
        f"FROM {_SCORES} s WHERE s.{_S['subject_kind']} = %s AND s.{_S['as_of']} = %s AND s.{_S['model_id']} = %s "
        f"AND {subject_sql} "
        + _POINTER_UPSERT
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, as_of, model_id, *subject_params])
