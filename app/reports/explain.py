"""Each credit line's arithmetic in words a customer can check by hand
(``1 affected day × ¥300.00 ÷ 30 = ¥10.00``), from the report and the contract's
own terms — one entry per rule, beside the rules of ``app.evaluation.credits``.
Shown on the portal's contract page and in the statement."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.contracts.models import Contract


@dataclass(frozen=True)
class Month:
    """What a line's arithmetic reads of its period and report."""
    start: datetime
    end: datetime
    outage_seconds: int | float

    @property
    def days(self) -> int:
        return (self.end.date() - self.start.date()).days  # local dates (both in the contract's zone)

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def _yuan(v) -> str:
    return f"¥{Decimal(str(v)):,.2f}"


def _per_affected_day(line: dict, contract: Contract, m: Month) -> str:
    n = line.get("quantity", 0)
    days = m.days
    unit = "affected day" if n == 1 else "affected days"
    return f"{n} {unit} × {_yuan(contract.month_fee)} ÷ {days} = {_yuan(line['amount'])}"


def _pro_rata(line: dict, contract: Contract, m: Month) -> str:
    return (f"{m.outage_seconds} s outage ÷ {m.seconds} s in the month × "
            f"{_yuan(contract.month_fee)} = {_yuan(line['amount'])}")


def _tiers(line: dict, contract: Contract, m: Month) -> str:
    tiers = sorted(contract.credit_policy.tiers, key=lambda t: Decimal(t.below), reverse=True)
    table = "; ".join(f"below {t.below}% → {t.percent}%" for t in tiers)
    tier = f"the {line.get('percent')}% tier" if Decimal(str(line.get("percent", "0"))) else "no tier"
    reached = f"availability {line.get('availability')}% reaches {tier}"
    return f"{reached} ({table}): {line.get('percent')}% × {_yuan(contract.month_fee)} = {_yuan(line['amount'])}"


def _unused(line: dict, contract: Contract, m: Month) -> str:
    pp = contract.terminated.paid_period
    return (f"the part of the paid period {pp.start.date()} – {pp.end.date()} unused after "
            f"{contract.terminated.at.date()}, of {_yuan(pp.amount)} = {_yuan(line['amount'])}")


def _free_days(line: dict, contract: Contract, m: Month) -> str:
    pp, tz = contract.terminated.paid_period, ZoneInfo(contract.timezone)
    days = (pp.end.astimezone(tz).date() - pp.start.astimezone(tz).date()).days  # as ningbo-colo 八.5 counts them
    return f"{line.get('quantity')} free days × {_yuan(pp.amount)} ÷ {days} = {_yuan(line['amount'])}"


EXPLAIN: dict[str, Callable[[dict, Contract, Month], str]] = {
    "per_affected_day": _per_affected_day,
    "pro_rata_downtime": _pro_rata,
    "availability_tiers": _tiers,
    "unused": _unused,
    "free_days": _free_days,
}


def explain(line: dict, contract: Contract, m: Month) -> str:
    """The line's arithmetic; a rule without an entry shows its amount alone."""
    how = EXPLAIN.get(line["rule"])
    return how(line, contract, m) if how is not None else f"= {_yuan(line['amount'])}"
