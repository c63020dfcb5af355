"""Turning pydantic errors into one clear message naming the field."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

Loc = tuple[Any, ...]


class CaseError(ValueError):
    """A bad evaluation case: ``/incidents/0/started_at: datetime has no UTC offset``."""

    def __init__(self, pointer: str, message: str, errors: list[dict] | None = None, reason: str = "invalid_case"):
        self.pointer, self.message, self.reason = pointer, message, reason
        self.errors = errors or [{"pointer": pointer, "detail": message}]
        super().__init__(f"{pointer}: {message}")


def error_loc(err: dict) -> Loc:
    """The error's location, refined by a model validator's ``ctx.field``."""
    loc = tuple(err["loc"])
    extra = (err.get("ctx") or {}).get("field")
    if extra:
        parts = tuple(int(p) if p.isdigit() else p for p in str(extra).split("/"))
        # a case-level validator names the path from the case root
        loc = parts if "/" in str(extra) else loc + parts
    return loc


def error_message(err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"expected one of {err['ctx']['expected']}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "expected an object"
    msg = err["msg"]
    return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg


def json_pointer(loc: Loc) -> str:
    """RFC 6901 pointer for a location."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc) or "/"


def first_errors(exc: ValidationError) -> list[dict]:
    """Errors with misspelt keys first: ``categroy`` is clearer than ``category`` missing."""
    return sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")


def case_error(exc: ValidationError, prefix: Loc = ()) -> CaseError:
    errors = [{"pointer": json_pointer(prefix + error_loc(e)), "detail": error_message(e)} for e in first_errors(exc)]
    return CaseError(errors[0]["pointer"], errors[0]["detail"], errors)
