"""The cut-over of the ledger from an unkeyed SHA-256 chain to the keyed (HMAC) chain.

Chosen: re-chain under the key, with the cut-over recorded in the chain itself.  The existing
entries are verified the old way first (contiguous, linked, content intact); their links are
then recomputed under the key (their content and content hashes stay as they were), and one
entry of kind ``ledger.chain_keyed`` is appended that records how many entries were re-chained
and the old chain's head hash.  That head hash commits to every old entry's content, so a copy
of the old ledger can still be compared with it; and from here on one rule verifies the whole
ledger, with no unkeyed prefix that an editor could rewrite.  Entries before the cut-over are
as trustworthy as the unkeyed chain was on the day of the cut-over, no more.

Run it with the application stopped (as any migration that rewrites the ledger): an old
process appending an unkeyed entry after the cut-over would break the keyed chain there.

An unkeyed chain that is already broken is refused (investigate first); to move it under the key
anyway, with the break recorded in the cut-over entry, set LEDGER_CUTOVER_ACCEPT_BROKEN=1.
The reverse re-chains everything the old (unkeyed) way, the cut-over entry included.
"""

import logging
import os

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from loans.ledger_chain import (
    GENESIS_HASH,
    LedgerKind,
    canonical_json,
    chain_key,
    content_hash_of,
    entry_hash_of,
    unkeyed_entry_hash_of,
)

log = logging.getLogger("loans.ledger")
BATCH = 2000
LOCK_KEY = 0x5E1ED6E5  # loans.services.ledger.LEDGER_LOCK_KEY: no append may run meanwhile


def _batches(LedgerEntry, connection):
    """The entries in seq order, a batch at a time (keyset pages: safe to update as we go)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    last = 0
    while True:
        batch = list(LedgerEntry.objects.filter(seq__gt=last).order_by("seq")[:BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1].seq


def _check_old(entries, expected_seq: int, expected_prev: str, link) -> str | None:
    for e in entries:
        if e.seq != expected_seq:
            return f"entry #{expected_seq} is missing (found #{e.seq})"
        if e.prev_hash != expected_prev:
            return f"entry #{e.seq}: prev_hash does not match the previous entry"
        c_hash = content_hash_of(
            seq=e.seq, kind=e.kind, subject_type=e.subject_type, subject_id=e.subject_id, payload=e.payload
        )
        if c_hash != e.content_hash:
            return f"entry #{e.seq}: content does not match its content_hash"
        if link(prev_hash=e.prev_hash, content_hash=e.content_hash) != e.entry_hash:
            return f"entry #{e.seq}: entry_hash does not match"
        expected_seq, expected_prev = e.seq + 1, e.entry_hash
    return None


def verify(LedgerEntry, connection, *, link) -> tuple[int, str, str | None]:
    """Walk the chain under ``link``; (entries, head hash, the first break or None)."""
    count, head, broken = 0, GENESIS_HASH, None
    for batch in _batches(LedgerEntry, connection):
        if broken is None:
            broken = _check_old(batch, count + 1, head, link)
        count, head = count + len(batch), batch[-1].entry_hash
    return count, head, broken


def rechain(LedgerEntry, connection, *, link) -> None:
    """Rewrite every entry's links under ``link`` (contents and content hashes unchanged)."""
    prev = GENESIS_HASH
    for batch in _batches(LedgerEntry, connection):
        for e in batch:
            e.prev_hash = prev
            e.entry_hash = prev = link(prev_hash=prev, content_hash=e.content_hash)
        LedgerEntry.objects.bulk_update(batch, ["prev_hash", "entry_hash"])


def _keyed_link():
    key = chain_key(settings.LEDGER_HMAC_KEY)
    return lambda *, prev_hash, content_hash: entry_hash_of(key=key, prev_hash=prev_hash, content_hash=content_hash)


def key_the_chain(apps, schema_editor):
    from django.db import connection

    LedgerEntry = apps.get_model("loans", "LedgerEntry")
    if not LedgerEntry.objects.exists():
        return  # a new ledger starts keyed: nothing to cut over
    # Verify first: a broken chain is refused before any row changes.
    count, old_head, broken = verify(LedgerEntry, connection, link=unkeyed_entry_hash_of)
    if broken and os.environ.get("LEDGER_CUTOVER_ACCEPT_BROKEN") != "1":
        raise RuntimeError(
            f"the unkeyed ledger is already broken ({broken}); investigate before moving it under the "
            "key, or set LEDGER_CUTOVER_ACCEPT_BROKEN=1 to re-chain it with the break recorded"
        )
    rechain(LedgerEntry, connection, link=_keyed_link())
    seq = count + 1
    prev = LedgerEntry.objects.get(seq=count).entry_hash
    payload = canonical_json({
        "recorded_at": timezone.now(),
        "scheme": "hmac-sha256",
        "previous_scheme": "sha256",
        "entries_rechained": count,
        "previous_head_hash": old_head,
        "broken_before_cutover": broken,
    })
    subject_type, subject_id = "loans.ledgerentry", "chain"
    c_hash = content_hash_of(seq=seq, kind=LedgerKind.CHAIN_KEYED, subject_type=subject_type,
                             subject_id=subject_id, payload=payload)
    LedgerEntry.objects.create(
        seq=seq, prev_hash=prev, content_hash=c_hash,
        entry_hash=_keyed_link()(prev_hash=prev, content_hash=c_hash),
        kind=LedgerKind.CHAIN_KEYED, subject_type=subject_type, subject_id=subject_id, payload=payload,
    )
    log.warning("ledger cut over to the keyed chain at entry #%d: %d entries re-chained, old head %s%s",
                seq, count, old_head, f"; broken before the cut-over: {broken}" if broken else "")


def unkey_the_chain(apps, schema_editor):
    from django.db import connection

    LedgerEntry = apps.get_model("loans", "LedgerEntry")
    rechain(LedgerEntry, connection, link=unkeyed_entry_hash_of)


class Migration(migrations.Migration):
    dependencies = [("loans", "0007_per_partner_borrower_files")]

    operations = [migrations.RunPython(key_the_chain, unkey_the_chain)]
