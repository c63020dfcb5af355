"""The ledger's working state (``Book``) and its date rules (SEMANTICS §13):
``+ N days`` at the same local time, days overdue as local calendar dates."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.calendars.periods import add_months
from app.contracts.errors import CaseError
from app.contracts.templates import LedgerRule, Template
from app.ledger.models import Invoice, LedgerCase
from app.money import Exact, fmt


def add_days(instant: datetime, days: int, tz: ZoneInfo) -> datetime:
    """``+ N days``: N calendar days later at the same local time."""
    local = instant.astimezone(tz)
    return (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=tz).astimezone(instant.tzinfo)


def days_overdue(inv: Invoice, at: datetime, tz: ZoneInfo) -> int:
    """Local calendar dates from ``due_at`` to ``paid_at`` (or ``at`` while unpaid); not 24 h periods."""
    end = inv.paid_at if inv.paid_at is not None and inv.paid_at <= at else at
    return max((end.astimezone(tz).date() - inv.due_at.astimezone(tz).date()).days, 0)


def unpaid(inv: Invoice, at: datetime) -> bool:
    return inv.paid_at is None or inv.paid_at > at


@dataclass
class Book:
    case: LedgerCase
    template: Template
    tz: ZoneInfo
    at: datetime
    charges: list[dict] = field(default_factory=list)
    deadlines: list[tuple[datetime, dict]] = field(default_factory=list)
    suspended: list[datetime] = field(default_factory=list)
    terminated: list[tuple[datetime, str]] = field(default_factory=list)  # (since, reason)
    data: dict[str, list[datetime]] = field(default_factory=lambda: {"deletable": [], "deleted": []})
    notice_rule: LedgerRule | None = None

    @property
    def contract(self):
        return self.case.contract

    def term(self, rule: LedgerRule):
        if self.contract.term is None:
            raise CaseError("/contract/term", f"required by the {rule.rule} rule ({rule.clause})")
        return self.contract.term

    def charge(self, rule: LedgerRule, name: str, amount: Exact, quantity, invoice_id: str | None = None,
               basis: str | None = None, **extra) -> None:
        self.charges.append({"rule": name, "invoice_id": invoice_id, "amount": fmt(amount), "quantity": quantity,
                             "clause": rule.clause, "basis": basis or rule.basis, "original": rule.original, **extra})

    def deadline(self, rule: LedgerRule, name: str, due: datetime, **extra) -> None:
        self.deadlines.append((due, {"name": name, "due_at": self.local(due), "clause": rule.clause,
                                     "basis": rule.basis, "passed": due <= self.at, **extra}))

    def local(self, instant: datetime | None) -> str | None:
        return instant.astimezone(self.tz).isoformat() if instant is not None else None

    def months(self, instant: datetime, n: int) -> datetime:
        return add_months(instant, n, self.tz)

    def days(self, instant: datetime, n: int) -> datetime:
        return add_days(instant, n, self.tz)
