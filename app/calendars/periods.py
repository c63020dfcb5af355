"""Months in a contract's time zone: period bounds and calendar-month arithmetic."""
from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.calendars.base import UTC
from app.calendars.zones import CHECKED_FROM, CHECKED_UNTIL, fixed_offset

ONE_DAY = timedelta(days=1)


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[first local midnight, next month's first local midnight)`` as UTC instants."""
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime.combine(date(year, month, 1), time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(date(*nxt, 1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


@dataclass(frozen=True)
class Period:
    """One contract month, built once: its local bounds as UTC instants."""
    year: int
    month: int
    start: datetime
    end: datetime
    days: int

    @classmethod
    def of(cls, year: int, month: int, tz: ZoneInfo) -> Period:
        start, end = month_bounds(year, month, tz)
        return cls(year, month, start, end, days_in_month(year, month))

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def holds(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def days_in_month(year: int, month: int) -> int:
    return _cal.monthrange(year, month)[1]


def add_months(instant: datetime, months: int, tz: ZoneInfo) -> datetime:
    """Same local time, ``months`` calendar months later (or earlier), the day of
    month clamped to the month's last day (01-31 + 1 month → 02-28)."""
    local = instant.astimezone(tz)
    y, m = divmod(local.year * 12 + (local.month - 1) + months, 12)
    m += 1
    d = min(local.day, days_in_month(y, m))
    return local.replace(year=y, month=m, day=d, tzinfo=None).replace(tzinfo=tz).astimezone(UTC)


_MIDNIGHTS: dict[tuple[ZoneInfo, date], datetime] = {}


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """Local 00:00 of ``day`` as a UTC instant (cached: the same days recur)."""
    key = (tz, day)
    m = _MIDNIGHTS.get(key)
    if m is None:
        if len(_MIDNIGHTS) > 100_000:
            _MIDNIGHTS.clear()
        m = _MIDNIGHTS[key] = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    return m


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The local calendar days touched by ``[start, end)``, each with its UTC bounds."""
    out = []
    fixed = fixed_offset(tz)
    if fixed is not None and CHECKED_FROM <= start and end <= CHECKED_UNTIL:
        # one offset all along (Asia/Shanghai): local midnights are plain arithmetic
        off = fixed.utcoffset(None)
        day = (start + off).date()
        a = datetime.combine(day, time(0), tzinfo=UTC) - off
        while a < end:
            b = a + ONE_DAY
            out.append((day, a, b))
            day, a = day + ONE_DAY, b
        return out
    day = start.astimezone(tz).date()
    a = midnight(day, tz)
    one = timedelta(days=1)
    while a < end:
        nxt = day + one
        b = midnight(nxt, tz)
        out.append((day, a, b))
        day, a = nxt, b
    return out
