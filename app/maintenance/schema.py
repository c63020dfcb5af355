"""A maintenance window as the API, ``sla_rules/maintenance/*.yaml`` and an .ics
import give it: exactly one of ``contract_id``/``target_id``/``customer_id``,
``[starts_at, ends_at)`` (the first occurrence of a recurring one), an optional
RFC 5545 ``rrule``, and when and how the customer was told."""
from __future__ import annotations

from datetime import timedelta

from dateutil.rrule import rrulestr
from icalendar import vRecur
from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.contracts.types import Ident, Instant, Strict

# basis: policy — maintenance is announced for hours, not weeks, and recurs at most daily
LONGEST = timedelta(days=7)
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


class MaintenanceIn(Strict):
    id: Ident
    contract_id: Ident | None = None
    target_id: Ident | None = None
    customer_id: Ident | None = None
    starts_at: Instant
    ends_at: Instant
    rrule: str | None = Field(None, max_length=500)  # e.g. FREQ=WEEKLY;BYDAY=SU;COUNT=12 (in the contract's zone)
    announced_at: Instant | None = None
    channel: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().removeprefix("RRULE:")
        if any(c in v for c in "\r\n") or "DTSTART" in v.upper():
            raise ValueError("one RRULE line, without DTSTART (starts_at is the first occurrence)")
        try:
            rrulestr(v)  # what expansion will run, checked now
            freq = vRecur.from_ical(v).get("FREQ", [None])[0]
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not an RFC 5545 RRULE ({exc})") from None
        if freq not in FREQUENCIES:
            raise ValueError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
        return v

    @model_validator(mode="after")
    def _shape(self):
        scopes = [n for n in ("contract_id", "target_id", "customer_id") if getattr(self, n) is not None]
        if len(scopes) != 1:
            raise PydanticCustomError("scope", "give exactly one of contract_id, target_id, customer_id",
                                      {"field": "contract_id"})
        if self.ends_at <= self.starts_at:
            raise PydanticCustomError("order", "ends_at is not after starts_at", {"field": "ends_at"})
        if self.ends_at - self.starts_at > LONGEST:
            raise PydanticCustomError("long", "longer than 7 days (basis: policy)", {"field": "ends_at"})
        return self
