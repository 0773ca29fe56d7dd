"""The ledger's cryptography, apart from the database: canonical content, the keyed chain, the
signed anchor.  Pure functions, so the data migration that moved the chain under a key uses
exactly what the service uses.

Why keyed: with a plain SHA-256 chain, anyone who can write the table can edit an entry and
recompute every hash after it, and the chain verifies.  ``entry_hash`` is therefore an
HMAC-SHA256 of (previous hash, content hash) under a key the database does not hold
(``settings.LEDGER_HMAC_KEY``): an edited, inserted or reordered entry cannot be re-sealed
without it.  What a keyed chain cannot show is a tail cut off cleanly (the remaining prefix is
still a valid chain), hence the anchor: the count and head of the ledger, signed with a second
key derived from the same secret and kept outside the table.

Keys are derived per purpose with HKDF (RFC 5869), so the chain key and the anchor key are
independent and the secret itself is never used as a key.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

GENESIS_HASH = "0" * 64
SCHEME = "hmac-sha256"
ANCHOR_VERSION = 1

# A kind is a dotted lower-case name ("decision.automated", "drawdown",
# "credit_line.limit_changed"); the column is free text so new kinds need no migration.
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
KIND_MAX_LENGTH = 40


class LedgerKind:
    """The kinds of entries the ledger records.  Not a database choice list: the post-loan work
    appends money movements and line changes under these names without a schema change."""

    DECISION_PREFIX = "decision."  # + Decision.Kind: decision.automated, decision.committee, ...
    DRAWDOWN = "drawdown"
    REPAYMENT = "repayment"
    CREDIT_LINE_LIMIT_CHANGED = "credit_line.limit_changed"
    CREDIT_LINE_STATUS_CHANGED = "credit_line.status_changed"
    LOAN_STATUS_CHANGED = "loan.status_changed"
    POST_LOAN_ACTION_EXECUTED = "post_loan_action.executed"
    CHAIN_KEYED = "ledger.chain_keyed"  # the cut-over from the unkeyed chain (loans migration 0008)


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or len(kind) > KIND_MAX_LENGTH or not KIND_PATTERN.match(kind):
        raise ValueError(
            f"ledger kind {kind!r} must be a dotted lower-case name of at most {KIND_MAX_LENGTH} characters"
        )
    return kind


# --- keys ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose ("chain", "anchor") from the ledger secret (HKDF-SHA256)."""
    if not secret:
        raise ValueError("LEDGER_HMAC_KEY is empty")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"sme-lending ledger {purpose} v1".encode()
    ).derive(secret.encode())


def chain_key(secret: str) -> bytes:
    return derive_key(secret, "chain")


def anchor_key(secret: str) -> bytes:
    return derive_key(secret, "anchor")


# --- content and chain ---------------------------------------------------------------------


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
    """SHA-256 of the entry's own canonical content (unkeyed: it names the content; the key
    seals it in ``entry_hash``)."""
    content = canonical_json(
        {"seq": seq, "kind": kind, "subject_type": subject_type, "subject_id": subject_id, "payload": payload}
    )
    return hashlib.sha256(content.encode()).hexdigest()


def entry_hash_of(*, key: bytes, prev_hash: str, content_hash: str) -> str:
    """The link: HMAC-SHA256 under the chain key of the previous entry's hash and this content."""
    return hmac.digest(key, (prev_hash + content_hash).encode(), "sha256").hex()


def unkeyed_entry_hash_of(*, prev_hash: str, content_hash: str) -> str:
    """The link as it was before the cut-over (sha256, no key): only the migration reads it."""
    return hashlib.sha256((prev_hash + content_hash).encode()).hexdigest()


# --- anchor --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The ledger's size and head at a checkpoint.  Entries may follow it; none may be missing."""

    count: int
    head_seq: int
    head_hash: str
    checkpointed_at: str

    def signed_fields(self) -> dict:
        return {"version": ANCHOR_VERSION, **asdict(self)}

    def signature(self, key: bytes) -> str:
        return hmac.digest(key, canonical_json(self.signed_fields()).encode(), "sha256").hex()

    def to_json(self, key: bytes) -> str:
        return canonical_json({**self.signed_fields(), "signature": self.signature(key)}) + "\n"

    def log_line(self) -> str:
        return f"ledger anchor: count={self.count} head_seq={self.head_seq} head_hash={self.head_hash}"


class AnchorInvalid(ValueError):
    """The anchor text is unreadable or its signature does not match (forged or altered)."""


def anchor_from_json(text: str, key: bytes) -> Anchor:
    try:
        data = json.loads(text)
        anchor = Anchor(
            count=int(data["count"]), head_seq=int(data["head_seq"]), head_hash=str(data["head_hash"]),
            checkpointed_at=str(data["checkpointed_at"]),
        )
        signature = str(data["signature"])
        version = data["version"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorInvalid(f"unreadable anchor ({type(exc).__name__}: {exc})") from None
    if version != ANCHOR_VERSION or not hmac.compare_digest(signature, anchor.signature(key)):
        raise AnchorInvalid("its signature does not match: forged, altered or signed with another key")
    return anchor
