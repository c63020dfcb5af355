"""The evaluation edge: a validated case and the loaded rules in, the report out."""
from __future__ import annotations

from typing import Any

from app.contracts.cases import parse_case_json, template_for, validate
from app.contracts.models import Case
from app.contracts.rules import Rules
from app.evaluation.engine import evaluate

__all__ = ["evaluate_case", "parse_case_json", "validate_case"]


def validate_case(data: Any) -> Case:
    return validate(Case, data)


def evaluate_case(case: Case, rules: Rules) -> dict:
    return evaluate(case, template_for(case.contract, rules), rules.schedule)
