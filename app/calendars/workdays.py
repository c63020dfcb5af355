"""Calendars with service hours: ``cn_workdays`` and weekly support calendars."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.calendars.base import Daily, Hours
from app.calendars.schedule import WorkdaySchedule

_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")
HOURS_HINT = "expected hours like 09:00-18:00 (several joined by commas)"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hours(text: str) -> Hours:
    """``09:00-12:00,13:00-18:00`` → ordered, non-overlapping spans of one day."""
    out: list[tuple[time, time | None]] = []
    for part in str(text).split(","):
        m = _HOURS.match(part.strip())
        if not m:
            raise ValueError(HOURS_HINT)
        a = time(int(m.group(1)), int(m.group(2)))
        b = None if m.group(3) == "24:00" else time(int(m.group(4)), int(m.group(5)))
        if b is not None and b <= a:
            raise ValueError(f"{part.strip()}: end must be after start")
        if out and (out[-1][1] is None or a < out[-1][1]):
            raise ValueError(f"{part.strip()}: spans must be in order and not overlap")
        out.append((a, b))
    return tuple(out)


def hours_length(hours: Hours) -> timedelta:
    day = date(2000, 1, 1)
    total = timedelta(0)
    for a, b in hours:
        end = datetime.combine(day + timedelta(days=1), time(0)) if b is None else datetime.combine(day, b)
        total += end - datetime.combine(day, a)
    return total


class CnWorkdays(Daily):
    """PRC working days, ``params.workday_hours`` (default 09:00–18:00) on each."""

    def __init__(self, tz: ZoneInfo, schedule: WorkdaySchedule, hours: Hours, name: str = "cn_workdays"):
        super().__init__(name, tz)
        self.schedule, self.hours = schedule, hours
        self.hours_per_workday = hours_length(hours)

    def hours_on(self, day: date) -> Hours:
        return self.hours if self.schedule.is_workday(day) else ()


class Weekly(Daily):
    """Hours per weekday; with a schedule, only on PRC working days as well
    (``inolink_onsite``: working days that fall Mon–Fri)."""

    def __init__(self, name: str, tz: ZoneInfo, by_weekday: dict[int, Hours],
                 schedule: WorkdaySchedule | None = None):
        super().__init__(name, tz)
        self.by_weekday, self.schedule = by_weekday, schedule
        lengths = {hours_length(h) for h in by_weekday.values() if h}
        self.hours_per_workday = lengths.pop() if len(lengths) == 1 else None

    def hours_on(self, day: date) -> Hours:
        hours = self.by_weekday.get(day.weekday(), ())
        if hours and self.schedule is not None and not self.schedule.is_workday(day):
            return ()
        return hours
