"""Webhook signatures, Stripe style — ship this module to partners.

Every delivery carries a header

    Sme-Signature: t=1764412345,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

where ``v1`` is the hex HMAC-SHA256, keyed with the endpoint's secret, of
``"{t}.{raw request body}"``.  Verify it over the *raw* body bytes, compare in constant time
and refuse timestamps more than ``tolerance`` seconds away from now (replay protection).
Standard library only, so partners can copy the file as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Sme-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300


class SignatureVerificationError(ValueError):
    pass


def _hmac(payload: bytes, secret: str, timestamp: int) -> str:
    message = str(int(timestamp)).encode() + b"." + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The header value for ``payload`` signed at ``timestamp`` (now when omitted)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={ts},{SCHEME}={_hmac(payload, secret, ts)}"


def verify(payload: bytes, header: str, secret: str, tolerance: int = DEFAULT_TOLERANCE, *, now: int | None = None) -> int:
    """Check ``header`` against ``payload``; return the signed timestamp or raise
    :class:`SignatureVerificationError`.  Several ``v1`` entries (during a secret
    rotation) are accepted if any matches.  ``tolerance`` (seconds, > 0) is the replay
    window: there is no way to switch the replay check off, since a signature without it
    stays valid forever for whoever captured one delivery."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise ValueError(f"tolerance must be a positive number of seconds, not {tolerance!r}")
    if isinstance(payload, str):
        payload = payload.encode()
    timestamp = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureVerificationError("Malformed timestamp in the signature header.") from None
        elif name == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureVerificationError("The signature header has no timestamp or no v1 signature.")
    expected = _hmac(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureVerificationError("No signature matches the payload.")
    current = int(time.time()) if now is None else int(now)
    if abs(current - timestamp) > tolerance:
        raise SignatureVerificationError("The timestamp is outside the tolerance window.")
    return timestamp
