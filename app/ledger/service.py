"""The ledger edge: a validated case and the loaded rules in, the report out."""
from __future__ import annotations

from typing import Any

from app.contracts.cases import template_for, validate
from app.contracts.rules import Rules
from app.ledger.engine import ledger
from app.ledger.models import LedgerCase


def validate_ledger_case(data: Any) -> LedgerCase:
    return validate(LedgerCase, data)


def ledger_case(case: LedgerCase, rules: Rules) -> dict:
    return ledger(case, template_for(case.contract, rules))
