"""The engine's report, typed: instants as aware ``datetime``, money as ``Decimal``
cents, durations as ``timedelta``. Consumers (metrics, tickets, the live state)
read these fields; ``to_json()`` writes the report every API, CLI and statement
shows (SEMANTICS §11), byte for byte the same as before it was typed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.calendars.zones import LocalTime
from app.money import fmt


def seconds(td: timedelta) -> int | float:
    """Whole seconds as an int; sub-second inputs keep their microseconds."""
    if td.microseconds:
        return td.total_seconds()
    return td.days * 86400 + td.seconds


def _iso(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return instant.astimezone(tz).isoformat() if instant is not None else None


@dataclass(frozen=True, slots=True)
class WindowRow:
    incident_id: str
    cited: dict  # the window's name, clause, original, basis, limit and calendar (shared, read-only)
    clock_start: datetime
    deadline: datetime | None  # None: met or excluded in a year with no schedule yet
    stopped_at: datetime | None
    status: str  # running | met | breached | excluded
    limit_seconds: int | float
    elapsed: timedelta
    overdue: timedelta
    attribution: str

    @property
    def window(self) -> str:
        return self.cited["window"]

    @property
    def provisional(self) -> bool:
        return self.attribution == "unknown"

    def to_json(self, local: LocalTime) -> dict:
        return {
            "incident_id": self.incident_id,
            **self.cited,
            "clock_start": local(self.clock_start),
            "deadline": local(self.deadline),
            "stopped_at": local(self.stopped_at),
            "status": self.status,
            "limit_seconds": self.limit_seconds,
            "elapsed_seconds": seconds(self.elapsed) if self.elapsed else 0,
            "overdue_seconds": seconds(self.overdue) if self.overdue else 0,
            "provisional": self.attribution == "unknown",
            "attribution": self.attribution,
        }


@dataclass(frozen=True, slots=True)
class CreditLine:
    rule: str
    amount: Decimal  # rounded half-up to the cent, once (SEMANTICS §8)
    clause: str | None
    basis: str
    extra: dict = field(default_factory=dict)  # what the rule shows beside it (quantity, original, …)

    def to_json(self) -> dict:
        return {"rule": self.rule, "amount": fmt(self.amount), "clause": self.clause, "basis": self.basis,
                **self.extra}


@dataclass(frozen=True, slots=True)
class Credit:
    lines: tuple[CreditLine, ...]
    uncapped: Decimal
    cap: Decimal | None
    cap_rule: str | None
    cap_clause: str | None
    cap_event_at: datetime | None  # trailing_12m_paid: the event the 12 months count back from
    amount: Decimal  # owed, capped, provisional part included
    owed: Decimal  # confirmed
    owed_provisional: Decimal  # resting on incidents not yet classified
    currency: str = "CNY"

    def to_json(self, tz: ZoneInfo) -> dict:
        out = {"lines": [x.to_json() for x in self.lines], "uncapped": fmt(self.uncapped),
               "cap": fmt(self.cap) if self.cap is not None else None, "cap_rule": self.cap_rule,
               "cap_clause": self.cap_clause, "amount": fmt(self.amount), "currency": self.currency}
        if self.cap_event_at is not None:
            out["cap_event_at"] = _iso(self.cap_event_at, tz)
        out["owed"], out["owed_provisional"] = fmt(self.owed), fmt(self.owed_provisional)
        return out


@dataclass(frozen=True, slots=True)
class TerminationRight:
    granted: bool
    since: datetime | None
    clause: str | None
    original: str | None
    basis: str | None
    provisional: bool
    ruled: bool  # the template has a termination rule (else the report says so by leaving out `original`)

    def to_json(self, tz: ZoneInfo) -> dict:
        out = {"granted": self.granted, "since": _iso(self.since, tz), "clause": self.clause}
        if self.ruled:
            out["original"] = self.original
        out["basis"], out["provisional"] = self.basis, self.provisional
        return out


@dataclass(frozen=True, slots=True)
class Outage:
    duration: timedelta
    affected_days: tuple[date, ...]
    availability_percent: Decimal

    def to_json(self) -> dict:
        return {"seconds": seconds(self.duration), "affected_days": [d.isoformat() for d in self.affected_days],
                "availability_percent": str(self.availability_percent)}


@dataclass(frozen=True, slots=True)
class MaintenanceRow:
    """A planned-maintenance window of the period and what it did (issue 19)."""
    id: str
    start: datetime
    end: datetime
    announced_at: datetime | None
    channel: str | None
    note: str | None
    target: str | None
    excluded: bool
    why_counted: str | None  # why it excludes nothing (announced late, too long)
    cited: dict  # the template's clause for announced maintenance
    outage_excluded: timedelta  # provider outage of the period it took out

    def to_json(self, local: LocalTime) -> dict:
        return {"id": self.id, "start": local(self.start), "end": local(self.end),
                "announced_at": local(self.announced_at), "channel": self.channel, "note": self.note,
                "target": self.target, "excluded": self.excluded, "why_counted": self.why_counted, **self.cited,
                "outage_excluded_seconds": seconds(self.outage_excluded)}


@dataclass(frozen=True, slots=True)
class Report:
    """One contract-month (SEMANTICS §11)."""
    contract_id: str
    template: str
    period: str
    timezone: str
    tz: ZoneInfo
    at: datetime
    windows: tuple[WindowRow, ...]
    outage: Outage
    credit: Credit
    termination_right: TerminationRight
    maintenance: tuple[MaintenanceRow, ...] = ()

    def to_json(self) -> dict:
        local = LocalTime(self.tz)
        return {
            "contract_id": self.contract_id,
            "template": self.template,
            "period": self.period,
            "timezone": self.timezone,
            "at": self.at.astimezone(self.tz).isoformat(),
            "windows": [w.to_json(local) for w in self.windows],
            "outage": self.outage.to_json(),
            "credit": self.credit.to_json(self.tz),
            "termination_right": self.termination_right.to_json(self.tz),
            "maintenance": [m.to_json(local) for m in self.maintenance],
        }
