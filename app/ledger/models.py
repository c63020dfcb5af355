"""The ledger case: a contract, its invoices, storage samples and notices, at an instant."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, model_validator
from pydantic_core import PydanticCustomError

from app.contracts.models import Contract
from app.contracts.types import Ident, Instant, Label, Money, Strict


def _megabytes(value: Any) -> Decimal:
    if isinstance(value, (float, bool)):
        raise PydanticCustomError("mb_type", 'used_mb must be a number as a string like "260" or an integer')
    try:
        d = Decimal(str(value).strip())
    except ArithmeticError:
        raise PydanticCustomError("mb_format", "used_mb must be a number") from None
    if not d.is_finite() or d < 0:
        raise PydanticCustomError("mb_negative", "used_mb must not be negative")
    return d


Megabytes = Annotated[Decimal, BeforeValidator(_megabytes)]


class Invoice(Strict):
    id: Ident
    amount: Money
    due_at: Instant
    paid_at: Instant | None = None


class StorageSample(Strict):
    at: Instant
    used_mb: Megabytes


class Notice(Strict):
    id: Ident
    kind: Label  # free text; ``termination_request`` has a rule (xiamen-mail 违约 1)
    sent_at: Instant
    channel: Literal["email", "mail"]


class LedgerCase(Strict):
    contract: Contract
    invoices: list[Invoice] = []
    storage: list[StorageSample] = []
    notices: list[Notice] = []
    at: Instant

    @model_validator(mode="after")
    def _checks(self):
        for i in range(1, len(self.storage)):
            if self.storage[i].at < self.storage[i - 1].at:
                raise PydanticCustomError("order", "storage samples must be in time order",
                                          {"field": f"storage/{i}/at"})
        for name in ("invoices", "notices"):
            seen: set[str] = set()
            for i, item in enumerate(getattr(self, name)):
                if item.id in seen:
                    raise PydanticCustomError("duplicate", f"id {item.id!r} appears twice", {"field": f"{name}/{i}/id"})
                seen.add(item.id)
        return self
