"""``ledger``: what a contract's billing terms say at an instant (SEMANTICS §13).

Each template ``ledger`` rule is a function in ``RULES`` (app/ledger/rules.py);
they write charges, deadlines and status changes into one ``Book``."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.calendars.periods import add_months
from app.contracts.errors import CaseError
from app.contracts.templates import LedgerRule, Template
from app.ledger.models import Invoice, LedgerCase
from app.money import fmt, total


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

    def charge(self, rule: LedgerRule, name: str, amount: Decimal, quantity, invoice_id: str | None = None,
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


def _status(book: Book) -> dict:
    at = book.at
    ended = sorted(t for t, _ in book.terminated if t <= at)
    suspended = sorted(t for t in book.suspended if t <= at)
    if ended:
        service, since = "terminated", ended[0]
    elif suspended:
        service, since = "suspended", suspended[0]
    else:
        service, since = "active", None
    deleted = sorted(t for t in book.data["deleted"] if t <= at)
    deletable = sorted(t for t in book.data["deletable"] if t <= at)
    data, data_since = ("deleted", deleted[0]) if deleted else ("deletable", deletable[0]) if deletable else ("kept", None)
    return {"service": service, "service_since": book.local(since), "data": data, "data_since": book.local(data_since)}


def ledger(case: LedgerCase, template: Template) -> dict:
    """The ledger report; raises ``CaseError`` naming the field, never a partial report."""
    from app.ledger.rules import RULES, notices

    contract = case.contract
    if contract.template != template.id:
        raise CaseError("/contract/template", f"case is for {contract.template!r}, not {template.id!r}")
    tz = ZoneInfo(contract.timezone)
    book = Book(case, template, tz, case.at)
    if contract.terminated is not None:
        book.terminated.append((contract.terminated.at, contract.terminated.reason))
    rules = sorted(template.ledger, key=lambda r: RULES[r.rule].order)
    for rule in rules:
        RULES[rule.rule](book, rule)
    return {
        "contract_id": contract.id,
        "template": template.id,
        "at": book.local(case.at),
        "charges": book.charges,
        "charges_total": fmt(total([Decimal(c["amount"]) for c in book.charges])),
        "currency": "CNY",
        "deadlines": [d for _, d in sorted(book.deadlines, key=lambda x: x[0])],
        "notices": notices(book),
        "status": _status(book),
    }
