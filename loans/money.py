"""Money: Decimal end to end, quantized to 0.01 CNY.

Every amount that is stored, compared or shown passes through :func:`money`.
Floats are refused outright so that a float can never leak into a money path.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RATE_PLACES = Decimal("0.000001")  # annual rates are stored as fractions: 0.085000


class MoneyError(ValueError):
    pass


def money(value) -> Decimal:
    """Return ``value`` as a Decimal rounded half-up to the cent.

    Accepts Decimal, int and numeric strings.  A float is a programming error.
    """
    if isinstance(value, float):
        raise MoneyError("money must not be a float; pass a Decimal or a string")
    if isinstance(value, bool):
        raise MoneyError("money must be a number")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not d.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def rate(value) -> Decimal:
    """An annual rate as a Decimal fraction with six places (0.085 = 8.5 %)."""
    if isinstance(value, float):
        raise MoneyError("rate must not be a float; pass a Decimal or a string")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not a rate: {value!r}") from exc
    if not d.is_finite():
        raise MoneyError(f"not a finite rate: {value!r}")
    return d.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
