"""``ledger``: what a contract's billing terms say at an instant (SEMANTICS §13).

Each template ``ledger`` rule is a function in ``RULES`` (app/ledger/rules.py);
they write charges, deadlines and status changes into one ``Book``."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from app.contracts.errors import CaseError
from app.contracts.templates import Template
from app.ledger.book import Book
from app.ledger.models import LedgerCase
from app.ledger.rules import RULES, notices
from app.money import fmt, total


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
    data, data_since = (("deleted", deleted[0]) if deleted else ("deletable", deletable[0]) if deletable
                        else ("kept", None))
    return {"service": service, "service_since": book.local(since), "data": data, "data_since": book.local(data_since)}


def ledger(case: LedgerCase, template: Template) -> dict:
    """The ledger report; raises ``CaseError`` naming the field, never a partial report."""
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
