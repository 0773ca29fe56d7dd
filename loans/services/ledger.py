"""The tamper-evident ledger: one keyed hash chain of decisions, money movements and post-loan
actions, and a signed anchor of its head kept outside the database.

What it proves (see ``loans/ledger_chain.py`` for the cryptography):

* every entry's ``entry_hash`` is an HMAC under ``settings.LEDGER_HMAC_KEY`` (derived per
  purpose), which the database does not hold: whoever can write the table cannot edit, insert
  or reorder an entry and re-seal the chain;
* the anchor (count, head seq, head hash; HMAC-signed) is written by ``ledger_checkpoint`` to
  ``settings.LEDGER_ANCHOR_PATH`` and logged, after the nightly verification and after batches
  of appends: entries removed from the tail after a checkpoint are caught by ``ledger_verify``;
* the nightly task ``monitoring.tasks.verify_ledger`` verifies, checkpoints and raises an alert
  when either fails.

``ledger_append`` must run inside the caller's transaction (the decision and its entry commit
or roll back together).  Each entry stores the canonical JSON it hashed, so verification never
depends on how a JSON column round-trips.

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

import contextlib
import fcntl
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from .. import rawsql
from ..ledger_chain import (
    GENESIS_HASH,
    Anchor,
    AnchorInvalid,
    LedgerKind,
    anchor_from_json,
    anchor_key,
    canonical_json,
    chain_key,
    check_kind,
    content_hash_of,
    entry_hash_of,
)
from ..models import LedgerEntry

__all__ = [
    "GENESIS_HASH", "LEDGER_LOCK_KEY", "Anchor", "LedgerAnchorError", "LedgerBreak", "LedgerKind",
    "canonical_json", "content_hash_of", "entry_hash_of", "ledger_anchor_read", "ledger_append",
    "ledger_checkpoint", "ledger_verify",
]

log = logging.getLogger(__name__)

# An arbitrary constant naming "the ledger" among PostgreSQL advisory locks.
LEDGER_LOCK_KEY = 0x5E1ED6E5
# Precompiled (see loans/rawsql.py): every automated decision runs it.
_LEDGER = rawsql.column_names(LedgerEntry)
_TAIL_SQL = (f'SELECT {_LEDGER["seq"]}, {_LEDGER["entry_hash"]} FROM "{LedgerEntry._meta.db_table}" '
             f'ORDER BY {_LEDGER["seq"]} DESC LIMIT 1')
_FIELDS = ("seq", "prev_hash", "content_hash", "entry_hash", "kind", "subject_type", "subject_id", "payload")


def _chain_key() -> bytes:
    return chain_key(settings.LEDGER_HMAC_KEY)


def _anchor_key() -> bytes:
    return anchor_key(settings.LEDGER_HMAC_KEY)


def _subject_ref(subject) -> tuple[str, str]:
    if isinstance(subject, models.Model):
        return subject._meta.label_lower, str(subject.pk)
    subject_type, subject_id = subject  # ("loans.loan", 42)
    return str(subject_type), str(subject_id)


def ledger_append(*, kind: str, subject, payload: dict, record: models.Model | None = None) -> LedgerEntry:
    """Append one entry; ``subject`` is a model instance or a ``(type, id)`` pair; ``kind`` a
    dotted name (``LedgerKind``); ``payload`` any JSON with Decimals, dates and datetimes.
    ``record``: a new row that names the entry (its ``ledger_seq`` is set here), written with
    the entry, in the same INSERT statement on PostgreSQL."""
    check_kind(kind)
    subject_type, subject_id = _subject_ref(subject)
    text = canonical_json({"recorded_at": timezone.now(), **payload})
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_append must run inside the transaction of what it records")
    key = _chain_key()
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
            entry_hash=entry_hash_of(key=key, prev_hash=prev_hash, content_hash=c_hash),
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


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerBreak:
    seq: int | None  # the entry where the chain breaks; None when the anchor itself is at fault
    problem: str

    def __str__(self) -> str:
        return f"broken at entry #{self.seq}: {self.problem}" if self.seq is not None else f"broken: {self.problem}"


class LedgerAnchorError(Exception):
    """The anchor cannot be read, trusted or moved forward; the message says why."""


def _anchor_path() -> Path | None:
    path = getattr(settings, "LEDGER_ANCHOR_PATH", "")
    return Path(path) if path else None


def ledger_anchor_read(path: Path | None = None) -> Anchor | None:
    """The anchor at ``path`` (default ``settings.LEDGER_ANCHOR_PATH``); None when there is
    none.  Raises ``LedgerAnchorError`` when it exists but is not trustworthy."""
    path = path or _anchor_path()
    if path is None:
        return None
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerAnchorError(f"the anchor at {path} cannot be read: {exc}") from exc
    try:
        return anchor_from_json(text, _anchor_key())
    except AnchorInvalid as exc:
        raise LedgerAnchorError(f"the anchor at {path} is refused: {exc}") from None


def _authentic(key: bytes, seq, prev, c_hash, e_hash, kind, s_type, s_id, payload) -> str | None:
    """Why one entry is not what was sealed, or None."""
    if content_hash_of(seq=seq, kind=kind, subject_type=s_type, subject_id=s_id, payload=payload) != c_hash:
        return "content does not match its content_hash (entry was altered)"
    if entry_hash_of(key=key, prev_hash=prev, content_hash=c_hash) != e_hash:
        return "entry_hash is not the keyed seal of prev_hash + content_hash (entry was altered or forged)"
    return None


def ledger_verify(*, chunk_size: int = 5000, anchored: bool = True) -> tuple[int, LedgerBreak | None]:
    """Recompute the keyed chain, streaming in chunks, and check it against the anchor (when
    ``settings.LEDGER_ANCHOR_PATH`` is set and ``anchored``).  Returns (entries checked, first
    break or None)."""
    anchor = None
    path = _anchor_path() if anchored else None
    if path is not None:
        try:
            anchor = ledger_anchor_read(path)
        except LedgerAnchorError as exc:
            return 0, LedgerBreak(None, str(exc))
    key = _chain_key()
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    qs = LedgerEntry.objects.order_by("seq").values_list(*_FIELDS)
    for row in qs.iterator(chunk_size=chunk_size):
        seq, prev, c_hash, e_hash = row[:4]
        if seq != expected_seq:
            return checked, LedgerBreak(seq, f"expected entry #{expected_seq} next, found #{seq} (missing entry)")
        if prev != expected_prev:
            return checked, LedgerBreak(seq, "prev_hash does not match the previous entry's hash")
        problem = _authentic(key, *row)
        if problem:
            return checked, LedgerBreak(seq, problem)
        if anchor is not None and seq == anchor.head_seq and e_hash != anchor.head_hash:
            return checked, LedgerBreak(seq, "this entry is not the head recorded by the anchor (the chain was rewritten)")
        expected_prev, expected_seq, checked = e_hash, seq + 1, checked + 1
    if anchor is not None and checked < anchor.head_seq:
        return checked, LedgerBreak(
            checked + 1,
            f"the ledger ends at entry #{checked} but the anchor of {anchor.checkpointed_at} records "
            f"{anchor.count} entries up to #{anchor.head_seq}: entries were removed from the tail",
        )
    if anchor is None and path is not None and checked:
        return checked, LedgerBreak(
            None,
            f"no anchor at {path}, so a removed tail could not be seen: if this is the first run "
            "(or after an upgrade), check the chain and start anchoring with `verify_ledger --checkpoint`",
        )
    return checked, None


# --- anchor --------------------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive(path: Path):
    """One checkpoint at a time (processes on this host): the anchor only ever moves forward."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def ledger_checkpoint(*, start: bool = False) -> Anchor:
    """Record the ledger's current count and head in the signed anchor file and the log.

    Moves an existing anchor forward only: its head entry must still be there, unchanged, and
    the current head must carry a valid seal.  Without an anchor file it starts one only when
    ``start`` is given (the operator's ``verify_ledger --checkpoint``) or the ledger is empty,
    so that a deleted anchor file is reported, not silently replaced.  Raises
    ``LedgerAnchorError``.  Call it after a verification or after a batch of appends; it reads
    two entries and counts the table, not the whole chain."""
    path = _anchor_path()
    if path is None:
        raise LedgerAnchorError("LEDGER_ANCHOR_PATH is not set: there is nowhere to keep the anchor")
    key = _chain_key()
    with _exclusive(path):
        previous = ledger_anchor_read(path)
        head = LedgerEntry.objects.order_by("-seq").values_list(*_FIELDS).first()
        count = LedgerEntry.objects.count()
        if previous is None and head is not None and not start:
            raise LedgerAnchorError(
                f"no anchor at {path} while the ledger holds {count} entries: verify the chain and "
                "start anchoring with `verify_ledger --checkpoint`"
            )
        if head is None:
            head_seq, head_hash = 0, GENESIS_HASH
        else:
            problem = _authentic(key, *head)
            if problem:
                raise LedgerAnchorError(f"the head entry #{head[0]} is not authentic: {problem}")
            head_seq, head_hash = head[0], head[3]
        if count != head_seq:
            raise LedgerAnchorError(f"the ledger holds {count} entries but its head is #{head_seq}: entries are missing")
        if previous is not None and previous.head_seq:
            kept = LedgerEntry.objects.filter(seq=previous.head_seq).values_list("entry_hash", flat=True).first()
            if kept != previous.head_hash:
                raise LedgerAnchorError(
                    f"the anchored head #{previous.head_seq} is {'gone' if kept is None else 'changed'}: "
                    "the ledger was truncated or rewritten since the last checkpoint"
                )
        anchor = Anchor(count=count, head_seq=head_seq, head_hash=head_hash, checkpointed_at=timezone.now().isoformat())
        _write_atomically(path, anchor.to_json(_anchor_key()))
    log.info("%s", anchor.log_line())
    return anchor
