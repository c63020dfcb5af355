"""Occurrences of stored maintenance windows within a range (pure): a recurring
window's RRULE runs in the contract's own zone (``BYDAY=SU`` at 02:00 is Sunday
02:00 in Shanghai, not in UTC), each occurrence as long as the first."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from app.contracts.models import Maintenance

MAX_OCCURRENCES = 1000  # per window and range: a daily window over the longest range is 400
RANGE = timedelta(days=400)  # occurrences older than this before the range's end are not looked at


def occurrences(row, tz: ZoneInfo, lo: datetime, hi: datetime) -> list[Maintenance]:
    """``row`` (a stored window) as occurrences overlapping ``[lo, hi)``."""
    length = row.ends_at - row.starts_at
    lo = max(lo, hi - RANGE)
    if not row.rrule:
        starts = [row.starts_at] if row.starts_at < hi and row.ends_at > lo else []
    else:
        rule = rrulestr(row.rrule, dtstart=row.starts_at.astimezone(tz))
        starts = []
        for s in rule.xafter(lo - length, count=MAX_OCCURRENCES, inc=True):
            if s >= hi:
                break
            if s + length > lo:
                starts.append(s)
    return [Maintenance.model_construct(
        id=row.id if not row.rrule else f"{row.id}@{s.astimezone(tz):%Y-%m-%dT%H:%M}",
        start=s.astimezone(timezone.utc), end=(s + length).astimezone(timezone.utc), announced_at=row.announced_at,
        channel=row.channel, note=row.note, target=row.target_id) for s in starts]


def windows_of(rows: list, contract_id: str, customer_id: str | None, tz: ZoneInfo, lo: datetime,
               hi: datetime) -> list[Maintenance]:
    """The occurrences that concern one contract: its own, its targets' and its customer's."""
    out = []
    for r in rows:
        if r.contract_id == contract_id or (r.customer_id is not None and r.customer_id == customer_id):
            out.extend(occurrences(r, tz, lo, hi))
    return out
