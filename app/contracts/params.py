"""Template parameters and a contract's ``params`` overrides, typed."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.calendars.durations import parse_span
from app.calendars.workdays import parse_hours
from app.contracts.errors import error_message
from app.contracts.types import Money


def _money(value: Any):
    try:
        return TypeAdapter(Money).validate_python(value)
    except ValidationError as exc:
        raise ValueError(error_message(exc.errors()[0])) from None


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a whole number ≥ 0")
    return value


PARSERS: dict[str, Callable[[Any], Any]] = {
    "duration": parse_span,
    "hours": parse_hours,
    "money": _money,
    "integer": _integer,
}


def param_value(param, value: Any) -> Any:
    """Parse one parameter value by the parameter's type; ValueError if bad."""
    if value is None:
        if param.nullable:
            return None
        raise ValueError("must not be null")
    return PARSERS[param.type](value)


def resolve_params(template, overrides: dict[str, Any]) -> dict[str, Any]:
    """Template defaults, overridden by the contract. Raises KeyError-like
    ``ParamError`` naming the parameter."""
    out = {}
    for name in overrides:
        if name not in template.parameters:
            known = ", ".join(sorted(template.parameters)) or "none"
            raise ParamError(name, f"unknown parameter for template {template.id} (known: {known})")
    for name, param in template.parameters.items():
        raw = overrides.get(name, param.default)
        try:
            out[name] = param_value(param, raw)
        except ValueError as exc:
            raise ParamError(name, str(exc)) from None
    return out


class ParamError(ValueError):
    def __init__(self, name: str, message: str):
        self.name, self.message = name, message
        super().__init__(f"{name}: {message}")
