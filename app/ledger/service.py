"""The ledger case edge: JSON in, validated case, report out (CLI and API)."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.contracts.errors import CaseError, case_error
from app.contracts.rules import Rules
from app.ledger.engine import ledger
from app.ledger.models import LedgerCase


def validate_ledger_case(data: Any) -> LedgerCase:
    try:
        return LedgerCase.model_validate(data)
    except ValidationError as exc:
        raise case_error(exc) from None


def ledger_case(case: LedgerCase, rules: Rules) -> dict:
    template = rules.templates.get(case.contract.template)
    if template is None:
        known = ", ".join(sorted(rules.templates))
        raise CaseError("/contract/template", f"unknown template {case.contract.template!r} (known: {known})")
    return ledger(case, template)
