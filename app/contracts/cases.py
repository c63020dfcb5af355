"""The case edge shared by the evaluation and the ledger: JSON text in, a
validated model, the template it names."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.contracts import jsonshape
from app.contracts.errors import CaseError, case_error
from app.contracts.models import Contract
from app.contracts.rules import Rules
from app.contracts.templates import Template

M = TypeVar("M", bound=BaseModel)


def parse_case_json(text: str | bytes) -> Any:
    raw = text.encode() if isinstance(text, str) else text
    refused = jsonshape.problem(raw)
    if refused is not None:
        raise CaseError("/", refused)
    try:
        # parse_float=Decimal: a JSON number never passes through a float
        return json.loads(text, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CaseError("/", f"invalid JSON: {exc}") from None


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise case_error(exc) from None


def template_for(contract: Contract, rules: Rules) -> Template:
    template = rules.templates.get(contract.template)
    if template is None:
        known = ", ".join(sorted(rules.templates))
        raise CaseError("/contract/template", f"unknown template {contract.template!r} (known: {known})")
    return template
