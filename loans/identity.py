"""Identity numbers and personal data: validation, encryption, keyed hashing, masking.

* USCC (统一社会信用代码) and resident ID (居民身份证号) are validated with
  python-stdnum, check digit included.
* A resident ID or phone number is stored encrypted (AES-GCM, random nonce) and,
  for exact lookup and uniqueness, as an HMAC-SHA256 keyed hash.  Both keys are
  derived from ``settings.PII_ENCRYPTION_KEY`` so one secret rotates both.
* What a person sees is always the masked form, e.g. ``110105********1234``.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric, uscc


def _explain(exc: stdnum_exceptions.ValidationError) -> str:
    if isinstance(exc, stdnum_exceptions.InvalidChecksum):
        return "the check digit is wrong"
    if isinstance(exc, stdnum_exceptions.InvalidLength):
        return "it must be 18 characters long"
    if isinstance(exc, stdnum_exceptions.InvalidFormat):
        return "it contains characters that are not allowed"
    if isinstance(exc, stdnum_exceptions.InvalidComponent):
        return "a part of it (region or birth date) is not valid"
    return "it is not valid"


def normalize_uscc(value: str, *, field: str = "uscc") -> str:
    """Return the compact USCC or raise ValidationError naming ``field``."""
    try:
        return uscc.validate(str(value or ""))
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(
            {field: f"Not a valid unified social credit code: {_explain(exc)}."}
        ) from exc


def normalize_resident_id(value: str, *, field: str = "resident_id") -> str:
    """Return the compact 18-digit resident ID or raise ValidationError naming ``field``."""
    try:
        compact = ric.validate(str(value or ""))
    except (KeyError, ValueError) as exc:
        # stdnum 2.2 raises KeyError for a county code its table lacks inside a known
        # province, and ValueError for some malformed dates: both are bad input, not bugs.
        if isinstance(exc, stdnum_exceptions.ValidationError):
            message = _explain(exc)
        else:
            message = "a part of it (region or birth date) is not valid"
        raise ValidationError({field: f"Not a valid resident identity number: {message}."}) from exc
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(
            {field: f"Not a valid resident identity number: {_explain(exc)}."}
        ) from exc
    if len(compact) != 18:  # stdnum also accepts the legacy 15-digit form; we do not
        raise ValidationError({field: "Not a valid resident identity number: it must be 18 characters long."})
    return compact


def birth_date_from_resident_id(compact: str) -> datetime.date:
    return ric.get_birth_date(compact)


# --- keys ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _keys(master: str) -> tuple[bytes, bytes]:
    raw = master.encode()
    enc = hashlib.sha256(b"pii-encryption|" + raw).digest()
    mac = hashlib.sha256(b"pii-lookup-hash|" + raw).digest()
    return enc, mac


def _enc_key() -> bytes:
    return _keys(settings.PII_ENCRYPTION_KEY)[0]


def _mac_key() -> bytes:
    return _keys(settings.PII_ENCRYPTION_KEY)[1]


@functools.lru_cache(maxsize=4)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead(_enc_key()).encrypt(nonce, plaintext.encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    blob = base64.urlsafe_b64decode(token.encode())
    return _aead(_enc_key()).decrypt(blob[:12], blob[12:], None).decode()


def lookup_hash(compact: str) -> str:
    """Keyed hash for exact lookup; without the key it cannot be brute-forced over the ID space."""
    return hmac.new(_mac_key(), compact.encode(), hashlib.sha256).hexdigest()


# --- masking ------------------------------------------------------------------------------


def mask_resident_id(compact: str) -> str:
    return f"{compact[:6]}{'*' * 8}{compact[-4:]}"


def normalize_phone(value: str, *, field: str = "phone") -> str:
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) != 11 or not digits.startswith("1"):
        raise ValidationError({field: "Not a valid mainland mobile number: it must be 11 digits starting with 1."})
    return digits


def mask_phone(digits: str) -> str:
    return f"{digits[:3]}****{digits[-4:]}"
