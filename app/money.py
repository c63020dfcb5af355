"""Money: CNY as Decimal, rounded half-up to the cent per line item (SEMANTICS §8).

No floats anywhere on the way: inputs are strings or integers, and a JSON float
is refused by the case models before it gets here.
"""
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(amount: Decimal) -> Decimal:
    """Round one line item half-up to 0.01."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(amount: Decimal) -> str:
    """Amounts in reports are strings with two decimals."""
    return str(cents(amount))


def total(lines: list[Decimal]) -> Decimal:
    """A total is the sum of its rounded line items."""
    return sum((cents(x) for x in lines), ZERO)
