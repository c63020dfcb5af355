"""Which contracts cannot be evaluated right now, and why: the one record the
SLA metrics, the ticket round and the API read, so a contract is never skipped
silently. A change (failing, failing for another reason, evaluating again) is
logged once, not once per round."""
from __future__ import annotations

import logging

from app.contracts.errors import CaseError

log = logging.getLogger("slawatch.evaluation")


def template_of(rules, contract):
    """The contract's template, or the evaluation error that names it missing."""
    template = rules.templates.get(contract.template)
    if template is None:
        raise CaseError("/contract/template", f"unknown template {contract.template!r}", reason="unknown_template")
    return template


def reason_of(exc: BaseException) -> str:
    """A short, stable code for a metric label and a ticket key."""
    return exc.reason if isinstance(exc, CaseError) else "internal_error"


def describe(exc: BaseException) -> tuple[str, str]:
    """(reason, message) of an evaluation failure."""
    return reason_of(exc), str(exc) if isinstance(exc, CaseError) else f"{type(exc).__name__}: {exc}"


class EvaluationErrors:
    def __init__(self):
        self.current: dict[str, tuple[str, str]] = {}  # contract id → (reason, message)

    def failed(self, contract_id: str, exc: BaseException) -> tuple[str, str]:
        state = describe(exc)
        if self.current.get(contract_id) != state:
            log.warning("contract %s cannot be evaluated (%s): %s", contract_id, *state)
            self.current[contract_id] = state
        return state

    def ok(self, contract_id: str) -> None:
        if self.current.pop(contract_id, None) is not None:
            log.info("contract %s evaluates again", contract_id)

    def keep_only(self, contract_ids: set[str]) -> None:
        """Forget contracts that no longer exist."""
        for cid in [c for c in self.current if c not in contract_ids]:
            del self.current[cid]
