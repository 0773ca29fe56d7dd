"""Identity numbers and personal data: validation, encryption, keyed hashing, masking.

* USCC (统一社会信用代码) is validated with python-stdnum, check digit included.
* A resident ID (居民身份证号) is validated by what GB 11643-1999 itself requires: 18
  characters, the ISO 7064 MOD 11-2 check digit (stdnum's arithmetic), a known province
  in the first two digits and a real birth date that is not in the future.  The county
  digits are not checked against a table of the counties that existed in the birth year:
  an ID carries the region code in force when it was issued, so a man born in 1975 may
  hold a Shenzhen Futian (440304) number although Futian was created in 1990.
* A resident ID or phone number is stored encrypted (AES-GCM, random nonce, the key version
  in the ciphertext, keys derived with HKDF: see "keys" below) and, for exact lookup and
  uniqueness, as an HMAC-SHA256 keyed hash under a key that does not rotate.
* What a person sees is always the masked form, e.g. ``11************1234``: the province
  and the last four characters.  Shown beside a birth year (never a full birth date), it
  leaves hundreds to thousands of candidate numbers (county x day of the year, one in
  eleven passing the check digit), so the masked form cannot be turned back into the ID.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from .choices import Province

# The earliest date a borrower file carries (a birth date, a founding date); loans.value_dates
# bounds a company's founding date with the same day.
EARLIEST_DATE = datetime.date(1900, 1, 1)


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


# Provinces of GB/T 2260, and the codes of the residence permits for Hong Kong, Macao and
# Taiwan residents (810000, 820000, 830000), which carry numbers of the same standard.
RESIDENT_ID_PROVINCES = frozenset(Province.values) | {"81", "82", "83"}


def _id_error(field: str, problem: str) -> ValidationError:
    return ValidationError({field: f"Not a valid resident identity number: {problem}."})


def normalize_resident_id(value: str, *, field: str = "resident_id") -> str:
    """Return the compact 18-character resident ID or raise ValidationError naming ``field``.

    Accepts what GB 11643-1999 accepts (see the module docstring); the legacy 15-digit form
    is refused."""
    compact = "".join(str(value or "").split()).replace("-", "").upper()
    if len(compact) != 18:
        raise _id_error(field, "it must be 18 characters long")
    if not compact[:17].isdigit() or not (compact[17].isdigit() or compact[17] == "X"):
        raise _id_error(field, "it contains characters that are not allowed")
    if not mod_11_2.is_valid(compact):
        raise _id_error(field, "the check digit is wrong")
    if compact[:2] not in RESIDENT_ID_PROVINCES:
        raise _id_error(field, f"{compact[:2]} (its first two digits) is not a province code")
    try:
        birth = datetime.date(int(compact[6:10]), int(compact[10:12]), int(compact[12:14]))
    except ValueError:
        raise _id_error(field, "digits 7 to 14 are not a real birth date") from None
    _check_birth_date(birth, field)
    return compact


def _check_birth_date(birth: datetime.date, field: str) -> None:
    if birth > timezone.localdate():
        raise _id_error(field, f"its birth date {birth} is in the future")
    if birth < EARLIEST_DATE:  # nobody born earlier is alive to borrow
        raise _id_error(field, f"its birth date {birth} is before {EARLIEST_DATE}")


def birth_year_from_resident_id(compact: str) -> int:
    return int(compact[6:10])


# --- keys ----------------------------------------------------------------------------------
#
# A ciphertext names the key version it was sealed under: ``v2:<base64(nonce + sealed)>``, the
# version bound into the seal as associated data.  The key of version N is derived with HKDF
# (SHA-256) from that version's master secret: ``PII_ENCRYPTION_KEY`` for the current version
# ``PII_KEY_VERSION``, and ``PII_PREVIOUS_KEYS`` ("1:<master>,...") for older versions still
# being read while ``manage.py rotate_pii_key`` re-encrypts under the current one.  A token
# without a prefix was written before versions existed (a SHA-256-derived key of some master):
# it is tried under every master known and rewritten by the rotation like any old version.
#
# The lookup hash does not rotate with the encryption keys: the uniqueness constraints and
# every lookup by resident ID depend on it, so its key comes from ``PII_LOOKUP_KEY`` (default:
# ``PII_ENCRYPTION_KEY``, which keeps the hashes written before it existed); set it to the old
# master before the first rotation (a system check insists).

VERSION_MARK = "v"
_HKDF_SALT = b"sme-lending|pii"


class UnknownKeyVersion(Exception):
    """A ciphertext under a key version whose master is not configured."""


def _legacy_keys(master: str) -> tuple[bytes, bytes]:
    raw = master.encode()
    return hashlib.sha256(b"pii-encryption|" + raw).digest(), hashlib.sha256(b"pii-lookup-hash|" + raw).digest()


@functools.lru_cache(maxsize=16)
def derive_key(master: str, version: int) -> bytes:
    """The AES-256 key of ``version`` (HKDF-SHA256 of its master, the version in ``info``)."""
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=_HKDF_SALT, info=f"pii-encryption|v{version}".encode())
    return hkdf.derive(master.encode())


def current_version() -> int:
    return int(settings.PII_KEY_VERSION)


def masters() -> dict[int, str]:
    """Master secret by key version: the current one and those still read during a rotation."""
    found = {int(v): m for v, m in parse_previous_keys(getattr(settings, "PII_PREVIOUS_KEYS", ())).items()}
    found[current_version()] = settings.PII_ENCRYPTION_KEY
    return found


def parse_previous_keys(value) -> dict[int, str]:
    """``["1:secret", ...]`` (or a mapping) → ``{1: "secret"}``."""
    if isinstance(value, dict):
        return {int(k): str(v) for k, v in value.items()}
    parsed = {}
    for item in value or ():
        version, sep, master = str(item).partition(":")
        if not sep or not version.strip().isdigit() or not master:
            raise ValueError("PII_PREVIOUS_KEYS items must read 'version:master-secret'")
        parsed[int(version)] = master
    return parsed


def version_prefix(version: int) -> str:
    return f"{VERSION_MARK}{version}:"


def token_version(token: str) -> int | None:
    """The key version a ciphertext names; None for one written before versions existed."""
    head, sep, _rest = token.partition(":")
    if sep and head.startswith(VERSION_MARK) and head[1:].isdigit():
        return int(head[1:])
    return None


def _mac_key() -> bytes:
    return _legacy_keys(settings.PII_LOOKUP_KEY or settings.PII_ENCRYPTION_KEY)[1]


@functools.lru_cache(maxsize=16)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def encrypt(plaintext: str) -> str:
    version = current_version()
    nonce = os.urandom(12)
    sealed = _aead(derive_key(settings.PII_ENCRYPTION_KEY, version)).encrypt(
        nonce, plaintext.encode(), version_prefix(version).encode()
    )
    return version_prefix(version) + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    version = token_version(token)
    if version is None:
        return _decrypt_legacy(token)
    master = masters().get(version)
    if master is None:
        raise UnknownKeyVersion(f"personal data sealed under key version {version}, which is not configured (PII_PREVIOUS_KEYS)")
    blob = base64.urlsafe_b64decode(token[len(version_prefix(version)):].encode())
    return _aead(derive_key(master, version)).decrypt(blob[:12], blob[12:], version_prefix(version).encode()).decode()


def _decrypt_legacy(token: str) -> str:
    blob = base64.urlsafe_b64decode(token.encode())
    for master in masters().values():
        try:
            return _aead(_legacy_keys(master)[0]).decrypt(blob[:12], blob[12:], None).decode()
        except InvalidTag:
            continue
    raise UnknownKeyVersion("personal data sealed before key versions under a master that is not configured")


def is_current(token: str) -> bool:
    """Sealed under the current key version (or empty: nothing to rotate)."""
    return not token or token.startswith(version_prefix(current_version()))


def reencrypt(token: str) -> str:
    """``token`` sealed under the current key version (unchanged if it already is)."""
    return token if is_current(token) else encrypt(decrypt(token))


def lookup_hash(compact: str) -> str:
    """Keyed hash for exact lookup; without the key it cannot be brute-forced over the ID space."""
    return hmac.new(_mac_key(), compact.encode(), hashlib.sha256).hexdigest()


# --- masking ------------------------------------------------------------------------------


def mask_resident_id(compact: str) -> str:
    """Province and last four characters: ``44************0810`` (see the module docstring)."""
    return f"{compact[:2]}{'*' * 12}{compact[-4:]}"



def normalize_phone(value: str, *, field: str = "phone") -> str:
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) != 11 or not digits.startswith("1"):
        raise ValidationError({field: "Not a valid mainland mobile number: it must be 11 digits starting with 1."})
    return digits


def mask_phone(digits: str) -> str:
    return f"{digits[:3]}****{digits[-4:]}"
