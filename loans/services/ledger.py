"""The tamper-evident ledger: one hash chain of decisions and post-loan actions.

``ledger_append`` must run inside the caller's transaction (the decision and its entry
commit or roll back together).  Each entry stores the canonical JSON it hashed, so
verification never depends on how a JSON column round-trips.

Why the chain stays unbroken under concurrency, and why that costs little:

* An entry names its predecessor (``seq``, ``prev_hash``), so appends must be serialised
  from "read the tail" until the transaction that wrote the new tail *commits*; otherwise
  two transactions read the same tail and fork the chain.  On PostgreSQL the serialiser
  is ``pg_advisory_xact_lock(LEDGER_LOCK_KEY)``: a lock on a number, not on a table or a
  row, so it blocks nobody but other appenders, costs one round trip, and is released by
  COMMIT/ROLLBACK itself.  On SQLite the database's single writer serialises.
* The tail is read *after* the lock is granted, in its own statement: under READ COMMITTED
  every statement takes a fresh snapshot, so it sees the previous holder's committed entry
  (folding the lock into the same SELECT would read a snapshot taken before the wait).
  It is ``ORDER BY seq DESC LIMIT 1`` on the unique index of ``seq``: one index probe.
* The lock is held until commit, so its cost is what runs between the lock and COMMIT.
  Callers therefore append as the *last* write of their transaction — the application,
  its history and everything else already written — leaving in the serialised section only:
  lock, tail probe, this INSERT (which on PostgreSQL also writes the decision row that must
  name the entry's ``seq``: one data-modifying statement, see ``rawsql.insert_together``),
  COMMIT.  The commit's WAL flush is inside the section by necessity: the next appender
  must see this entry, which it can only once it is committed.  Throughput of decisions is
  therefore bounded by roughly 1 / (three statements + one WAL flush), not by the decision's
  reads, scoring or Python work, which all run in parallel before the lock.
* A transaction that appends twice (or a savepoint that re-appends) re-takes a lock it
  already holds, which is free and still correct.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from .. import rawsql
from ..models import LedgerEntry

GENESIS_HASH = "0" * 64
# An arbitrary constant naming "the ledger" among PostgreSQL advisory locks.
LEDGER_LOCK_KEY = 0x5E1ED6E5
# Precompiled (see loans/rawsql.py): every automated decision runs it.
_TAIL_SQL = f'SELECT "seq", "entry_hash" FROM "{LedgerEntry._meta.db_table}" ORDER BY "seq" DESC LIMIT 1'


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON-serialisable in the ledger: {type(value).__name__}")


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def content_hash_of(*, seq: int, kind: str, subject_type: str, subject_id: str, payload: str) -> str:
    content = canonical_json(
        {"seq": seq, "kind": kind, "subject_type": subject_type, "subject_id": subject_id, "payload": payload}
    )
    return hashlib.sha256(content.encode()).hexdigest()


def entry_hash_of(*, prev_hash: str, content_hash: str) -> str:
    return hashlib.sha256((prev_hash + content_hash).encode()).hexdigest()


def _subject_ref(subject) -> tuple[str, str]:
    if isinstance(subject, models.Model):
        return subject._meta.label_lower, str(subject.pk)
    subject_type, subject_id = subject  # ("loans.loan", 42)
    return str(subject_type), str(subject_id)


def ledger_append(*, kind: str, subject, payload: dict, record: models.Model | None = None) -> LedgerEntry:
    """Append one entry; ``subject`` is a model instance or a ``(type, id)`` pair.  ``record``:
    a new row that names the entry (its ``ledger_seq`` is set here), written with the entry,
    in the same INSERT statement on PostgreSQL."""
    subject_type, subject_id = _subject_ref(subject)
    text = canonical_json({"recorded_at": timezone.now(), **payload})
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_append must run inside the transaction of what it records")
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])
        with connection.cursor() as cur:
            cur.execute(_TAIL_SQL)
            last = cur.fetchone()
        seq = last[0] + 1 if last else 1
        prev_hash = last[1] if last else GENESIS_HASH
        c_hash = content_hash_of(seq=seq, kind=kind, subject_type=subject_type, subject_id=subject_id, payload=text)
        entry = LedgerEntry(
            seq=seq,
            prev_hash=prev_hash,
            content_hash=c_hash,
            entry_hash=entry_hash_of(prev_hash=prev_hash, content_hash=c_hash),
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            payload=text,
        )
        if record is None:
            rawsql.insert([entry])
        else:
            record.ledger_seq = seq
            rawsql.insert_together(entry, [record])
        return entry


@dataclass(frozen=True)
class LedgerBreak:
    seq: int
    problem: str


def ledger_verify(*, chunk_size: int = 5000) -> tuple[int, LedgerBreak | None]:
    """Recompute the chain.  Returns (entries checked, first break or None)."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    qs = LedgerEntry.objects.order_by("seq").values_list(
        "seq", "prev_hash", "content_hash", "entry_hash", "kind", "subject_type", "subject_id", "payload"
    )
    for seq, prev, c_hash, e_hash, kind, s_type, s_id, payload in qs.iterator(chunk_size=chunk_size):
        if seq != expected_seq:
            return checked, LedgerBreak(seq, f"expected entry #{expected_seq} next, found #{seq} (missing entry)")
        if prev != expected_prev:
            return checked, LedgerBreak(seq, "prev_hash does not match the previous entry's hash")
        if content_hash_of(seq=seq, kind=kind, subject_type=s_type, subject_id=s_id, payload=payload) != c_hash:
            return checked, LedgerBreak(seq, "content does not match its content_hash (entry was altered)")
        if entry_hash_of(prev_hash=prev, content_hash=c_hash) != e_hash:
            return checked, LedgerBreak(seq, "entry_hash does not match prev_hash + content_hash")
        expected_prev, expected_seq, checked = e_hash, seq + 1, checked + 1
    return checked, None
