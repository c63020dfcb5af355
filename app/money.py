"""Money: CNY as Decimal, rounded half-up to the cent once per line item (SEMANTICS §8).

No floats anywhere on the way: inputs are strings or integers, and a JSON float
is refused by the case models before it gets here. A line that divides is
computed as an exact ``Fraction`` (multiply first, divide once) and rounded
once, so an exact half cent (0.625) rounds up, never down through an inexact
intermediate quotient.
"""
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
Exact = Decimal | Fraction | int


def round_half_up(value: Fraction, places: int) -> Decimal:
    """``value`` rounded half away from zero to ``places`` decimals, exactly."""
    scaled = value * 10 ** places
    n, d = scaled.numerator, scaled.denominator
    q, r = divmod(abs(n), d)
    if 2 * r >= d:
        q += 1
    return Decimal((1 if n < 0 else 0, tuple(map(int, str(q))), -places))


def cents(amount: Exact) -> Decimal:
    """Round one line item half-up to 0.01, from its exact value."""
    if isinstance(amount, Decimal):
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return round_half_up(Fraction(amount), 2)


def fmt(amount: Exact) -> str:
    """Amounts in reports are strings with two decimals."""
    return str(cents(amount))


def total(lines: list[Exact]) -> Decimal:
    """A total is the sum of its rounded line items."""
    return sum((cents(x) for x in lines), ZERO)
