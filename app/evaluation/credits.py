"""Credit lines (SEMANTICS §8): per affected day, termination refund, and the
operator's policy credits. Each line is rounded half-up on its own."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from app.calendars.periods import Period
from app.contracts.errors import CaseError
from app.contracts.models import Contract, CreditPolicy
from app.contracts.templates import CreditRule
from app.evaluation.report import CreditLine
from app.money import Exact, cents, round_half_up

HUNDRED = 100
_US = timedelta(microseconds=1)
POLICY_NOTE = "operator credit policy; the contract names no amount"


def line(rule: str, amount: Exact, clause: str | None, basis: str, **extra) -> CreditLine:
    return CreditLine(rule, cents(amount), clause, basis, extra)


def need_month_fee(contract: Contract, why: str) -> Decimal:
    if contract.month_fee is None:
        raise CaseError("/contract/month_fee", f"required by {why}")
    return contract.month_fee


def per_affected_day(rule: CreditRule, contract: Contract, days: int, days_in_month: int) -> CreditLine:
    # xiamen-mail 违约 4: 以天为单位赔偿; the daily rate is the month fee over the month's days.
    fee = need_month_fee(contract, f"the per_affected_day credit ({rule.clause})")
    return line("per_affected_day", Fraction(fee) * days / days_in_month, rule.clause, rule.basis,
                original=rule.original, quantity=days)


def termination_refund(rule: CreditRule, contract: Contract, tz: ZoneInfo) -> list[CreditLine]:
    """ningbo-colo 八.5: the unused part of the paid period, plus 7 (annual) or 3
    (monthly) free days, for a termination for policy or upstream reasons."""
    term = contract.terminated
    if term is None or term.reason not in ("policy", "upstream"):
        return []
    if term.paid_period is None:
        raise CaseError("/contract/terminated/paid_period", f"required for the termination refund ({rule.clause})")
    if contract.billing is None:
        raise CaseError("/contract/billing", f"required for the termination refund's free days ({rule.clause})")
    pp = term.paid_period
    p0, p1, t = pp.start, pp.end, min(max(term.at, pp.start), pp.end)
    unused = Fraction(pp.amount) * ((p1 - t) // _US) / ((p1 - p0) // _US)
    days = (p1.astimezone(tz).date() - p0.astimezone(tz).date()).days
    k = rule.free_days[contract.billing]
    free = Fraction(pp.amount) * k / days
    return [
        line("unused", unused, rule.clause, rule.basis, original=rule.original),
        line("free_days", free, rule.clause, rule.basis, original=rule.original, quantity=k),
    ]


def policy_line(policy: CreditPolicy, contract: Contract, outage: timedelta, month: timedelta) -> CreditLine:
    fee = need_month_fee(contract, f"the credit policy {policy.rule}")
    ratio = Fraction(outage // _US, month // _US)
    if policy.rule == "pro_rata_downtime":
        return line("pro_rata_downtime", Fraction(fee) * ratio, None, "policy", note=POLICY_NOTE)
    availability = (1 - ratio) * HUNDRED
    hits = [t.percent for t in policy.tiers if Fraction(t.below) > availability]
    percent = max(hits) if hits else Decimal(0)
    return line("availability_tiers", Fraction(fee) * Fraction(percent) / HUNDRED, None, "policy", note=POLICY_NOTE,
                availability=str(round_half_up(availability, 4)), percent=str(percent))


@dataclass(frozen=True)
class Inputs:
    """What a credit or cap rule reads of one contract-month."""
    contract: Contract
    tz: ZoneInfo
    period: Period
    affected_days: int
    at: datetime


def _per_affected_day(rule: CreditRule, x: Inputs) -> list[CreditLine]:
    return [per_affected_day(rule, x.contract, x.affected_days, x.period.days)]


def _termination_refund(rule: CreditRule, x: Inputs) -> list[CreditLine]:
    term = x.contract.terminated  # refunded in the period the termination falls in
    return termination_refund(rule, x.contract, x.tz) if term is not None and x.period.holds(term.at) else []


# the template's `credits` rules, by name (app.contracts.templates.CreditRule.rule)
CREDIT_RULES: dict[str, Callable[[CreditRule, Inputs], list[CreditLine]]] = {
    "per_affected_day": _per_affected_day,
    "termination_refund": _termination_refund,
}
