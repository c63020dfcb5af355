"""The case edge: JSON in, validated case, report out. Shared by the CLI and the API."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from app.contracts.errors import CaseError, case_error
from app.contracts.models import Case
from app.contracts.rules import Rules
from app.evaluation.engine import evaluate


def parse_case_json(text: str | bytes) -> Any:
    try:
        # parse_float=Decimal: a JSON number never passes through a float
        return json.loads(text, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CaseError("/", f"invalid JSON: {exc}") from None


def validate_case(data: Any) -> Case:
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise case_error(exc) from None


def evaluate_case(case: Case, rules: Rules) -> dict:
    template = rules.templates.get(case.contract.template)
    if template is None:
        known = ", ".join(sorted(rules.templates))
        raise CaseError("/contract/template", f"unknown template {case.contract.template!r} (known: {known})")
    return evaluate(case, template, rules.schedule)
