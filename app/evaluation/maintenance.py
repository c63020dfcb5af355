"""Planned maintenance (SEMANTICS §4, issue 19): a window announced to the customer
before it began (aliyun-mail 6.3 "会提前通过网络公告等方式通知用户") and, where the
template sets ``maintenance_max``, no longer than that (xiamen-mail 违约 3
"短时间中断") excludes the part of each outage that overlaps it — only that part:
the outage before and after it counts, and a window's clock stands still inside
it. A window that fails either test excludes nothing; the report says why."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.calendars import merge
from app.contracts.models import Incident, Maintenance
from app.evaluation.report import MaintenanceRow

MAINTENANCE = "announced_maintenance"  # the attribution and the pause reason it gives
Span = tuple[datetime, datetime]


def not_excused(announced_at: datetime | None, start: datetime, length: timedelta,
                maintenance_max: timedelta | None) -> str | None:
    """The one rule for announced maintenance (aliyun-mail 6.3, xiamen-mail 违约 3): None
    when a maintenance of ``length`` from ``start``, told at ``announced_at``, is excused;
    else why it counts as the provider's."""
    if announced_at is None:
        return "not announced: no announced_at"
    if announced_at >= start:
        return "announced when or after it began"
    if maintenance_max is not None and length > maintenance_max:
        return f"longer than maintenance_max ({_hours(maintenance_max)})"
    return None


def why_counted(m: Maintenance, maintenance_max: timedelta | None) -> str | None:
    """None when window ``m`` excludes what overlaps it; else why it does not."""
    return not_excused(m.announced_at, m.start, m.end - m.start, maintenance_max)


def _hours(td: timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes % 60 else f"{minutes // 60} h"


def _applies(m: Maintenance, inc: Incident) -> bool:
    return m.target is None or m.target == getattr(inc, "target", None)


def covered(inc: Incident, excluding: list[Maintenance], end: datetime) -> list[Span]:
    """The parts of ``[started_at, end)`` inside windows that exclude (merged)."""
    return merge((max(m.start, inc.started_at), min(m.end, end)) for m in excluding
                 if _applies(m, inc) and m.start < end and m.end > inc.started_at)


def maintenance_rows(windows: list[Maintenance], maintenance_max: timedelta | None, clause: dict,
                     outage: tuple[list[Span], list[Span]], p0: datetime, p1: datetime) -> tuple[MaintenanceRow, ...]:
    """Every window overlapping ``[p0, p1)``: whether it excluded, why not, and how
    much of the period's provider outage it took out (``outage``: the union as if
    there were no maintenance, and as counted)."""
    rows = []
    for m in sorted(windows, key=lambda m: (m.start, m.id)):
        if m.end <= p0 or m.start >= p1:
            continue
        why = why_counted(m, maintenance_max)
        lo, hi = max(m.start, p0), min(m.end, p1)
        raw, counted = (_within(spans, lo, hi) for spans in outage)
        rows.append(MaintenanceRow(m.id, m.start, m.end, m.announced_at, m.channel, m.note, m.target,
                                   why is None, why, clause, raw - counted if why is None else timedelta(0)))
    return tuple(rows)


def _within(spans: list[Span], lo: datetime, hi: datetime) -> timedelta:
    return sum((min(e, hi) - max(s, lo) for s, e in spans if s < hi and e > lo), timedelta(0))
