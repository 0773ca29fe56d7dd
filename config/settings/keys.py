"""What production demands of its secrets (imported by ``production.py``, not a settings module).

A key that a person typed (``x``, a word, the development key copied from ``base``) can be
guessed, and everything it protects — personal data, the ledger's seal — falls with it.
Entropy cannot be measured from one string, so this is an estimate that catches the usual
mistakes: too short, too few different characters, repetition, the development default, one
secret reused for two purposes.  ``python -c 'import secrets; print(secrets.token_urlsafe(32))'``
makes a key that passes.
"""

from __future__ import annotations

import math
from collections import Counter

from django.core.exceptions import ImproperlyConfigured

MIN_LENGTH = 32
MIN_BITS = 128
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def estimated_bits(value: str) -> float:
    """The string's length times the Shannon entropy of its characters: an upper bound on the
    guessing work, low for short, repetitive or small-alphabet strings."""
    if not value:
        return 0.0
    n = len(value)
    per_char = -sum(c / n * math.log2(c / n) for c in Counter(value).values())
    return per_char * n


def require_strong_secret(name: str, value: str, *, development_values: tuple[str, ...] = ()) -> str:
    """``value`` if it looks like a random secret of at least 128 bits; ImproperlyConfigured
    naming ``name`` and the way to make one otherwise."""
    if any(value == dev or (dev and value.startswith(dev[:12])) for dev in development_values):
        raise ImproperlyConfigured(f"{name} must not be the development key; make one with {HOW_TO_MAKE_ONE}")
    if len(value) < MIN_LENGTH or estimated_bits(value) < MIN_BITS:
        raise ImproperlyConfigured(
            f"{name} is too weak: use at least {MIN_LENGTH} random characters "
            f"(~{MIN_BITS} bits or more); make one with {HOW_TO_MAKE_ONE}"
        )
    return value


def require_distinct_secrets(**secrets: str) -> None:
    """One secret per purpose: whoever learns one must not hold the others."""
    seen: dict[str, str] = {}
    for name, value in secrets.items():
        if value in seen:
            raise ImproperlyConfigured(f"{name} must differ from {seen[value]}: use one secret per purpose")
        seen[value] = name
