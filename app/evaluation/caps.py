"""Caps (SEMANTICS §9): what a period's credit can never exceed."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from app.calendars.periods import add_months
from app.contracts.models import Contract, Payment
from app.contracts.types import months_between, parse_month
from app.money import ZERO, cents


def _paid(payments: list[Payment], at: datetime) -> list[Payment]:
    return [p for p in payments if p.paid_at <= at]


def month_fee_cap(contract: Contract, year: int, month: int, at: datetime) -> Decimal:
    """"已缴纳的当月服务费用": the payments attributed to the month, each spread evenly
    over the months it covers (xiamen-mail 违约 4)."""
    target = (year, month)
    total = Fraction(0)  # each share exact, the sum rounded once (SEMANTICS §9)
    for p in _paid(contract.payments, at):
        first, last = (parse_month(x) for x in p.months.split("/"))
        if first <= target <= last:
            total += Fraction(p.amount) / len(months_between(first, last))
    return cents(total)


def total_paid_cap(contract: Contract, at: datetime) -> Decimal:
    """All fees paid by ``at``, less credits already granted (aliyun-mail 7.2)."""
    paid = sum((p.amount for p in _paid(contract.payments, at)), ZERO)
    return max(cents(paid - contract.credits_paid), ZERO)


def trailing_12m_cap(contract: Contract, event: datetime, at: datetime, tz: ZoneInfo) -> Decimal:
    """Fees paid in the 12 months before the event (shengjing-crm 17)."""
    since = add_months(event, -12, tz)
    return cents(sum((p.amount for p in _paid(contract.payments, at) if since <= p.paid_at < event), ZERO))


def _month_fee(x, contributing: list[datetime]) -> tuple[Decimal, datetime | None]:
    return month_fee_cap(x.contract, x.period.year, x.period.month, x.at), None


def _total_paid(x, contributing: list[datetime]) -> tuple[Decimal, datetime | None]:
    return total_paid_cap(x.contract, x.at), None


def _trailing_12m_paid(x, contributing: list[datetime]) -> tuple[Decimal, datetime | None]:
    # E: start of the earliest provider incident contributing to this period's credit
    event = min(contributing) if contributing else x.period.start
    return trailing_12m_cap(x.contract, event, x.at, x.tz), event


# the template's `cap` rule, by name (app.contracts.templates.CapRule.rule): each gives
# the cap and the event it counts from, if any; ``contributing`` are the starts of the
# provider incidents that add to this period's credit
CAP_RULES: dict[str, Callable[..., tuple[Decimal, datetime | None]]] = {
    "month_fee": _month_fee,
    "total_paid": _total_paid,
    "trailing_12m_paid": _trailing_12m_paid,
}
