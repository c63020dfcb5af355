"""``sla_rules/intake.yaml``: which contract and category an alert is about, for
alerts without ``slawatch_contract``/``slawatch_category`` labels — label matchers
in order, the first that matches wins (validated like the templates, file:line)."""
from __future__ import annotations

import re

from pydantic import Field, field_validator

from app.contracts.types import OUTAGE_CATEGORIES, Ident, Strict


class IntakeRoute(Strict):
    match: dict[str, str] = {}  # label = value, every one
    match_re: dict[str, str] = {}  # label matches the whole regular expression, every one
    contract: Ident
    category: str = "service_unavailable"

    @field_validator("match_re")
    @classmethod
    def _regex(cls, v: dict[str, str]) -> dict[str, str]:
        for label, pattern in v.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{label}: not a regular expression ({exc})") from None
        return v

    @field_validator("category")
    @classmethod
    def _outage(cls, v: str) -> str:
        if v not in OUTAGE_CATEGORIES:
            raise ValueError(f"expected one of {', '.join(sorted(OUTAGE_CATEGORIES))}")
        return v

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match.items()) and \
            all(re.fullmatch(p, labels.get(k, "")) for k, p in self.match_re.items())


class IntakeRules(Strict):
    routes: list[IntakeRoute] = Field(min_length=1, max_length=1000)

    def route(self, labels: dict[str, str]) -> IntakeRoute | None:
        return next((r for r in self.routes if r.matches(labels)), None)
