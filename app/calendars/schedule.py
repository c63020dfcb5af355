"""PRC working days: weekends off, public holidays off, make-up days (调休上班) on.

Years come from the chinese-calendar package; operator files
``sla_rules/calendars/cn-YYYY.yaml`` add a year or replace one (parsed at the
edge and handed in here as ``YearOverride``). A year known to neither is an
error naming the file to add — never a silent guess (SEMANTICS §2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

from app.calendars.base import CalendarError


@dataclass(frozen=True)
class YearOverride:
    year: int
    holidays: frozenset[date] = field(default_factory=frozenset)  # off, even on a weekday
    workdays: frozenset[date] = field(default_factory=frozenset)  # on, even on a weekend
    source: str = ""


class WorkdaySchedule:
    def __init__(self, overrides: dict[int, YearOverride] | None = None,
                 override_dir: str = "sla_rules/calendars"):
        self.overrides = dict(overrides or {})
        self.override_dir = override_dir.rstrip("/")
        self._cache: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        known = self._cache.get(day)
        if known is None:
            known = self._cache[day] = self._lookup(day)
        return known

    def _lookup(self, day: date) -> bool:
        o = self.overrides.get(day.year)
        if o is not None:
            if day in o.holidays:
                return False
            if day in o.workdays:
                return True
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise CalendarError(
                f"no PRC working-day schedule for {day.year}: "
                f"add {self.override_dir}/cn-{day.year}.yaml", year=day.year) from None

    def knows(self, year: int) -> bool:
        """A schedule for ``year`` exists (an operator file or the package); never guessed."""
        if year in self.overrides:
            return True
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
            return True
        except NotImplementedError:
            return False

    def known_until(self, today: date) -> date:
        """The first day from which no schedule is known, counting from ``today``'s year."""
        year = today.year
        while self.knows(year) and year < date.max.year:
            year += 1
        return date(year, 1, 1)

    def missing_year_warning(self, today: date) -> str | None:
        """From 1 November of the year before (when the State Council has usually
        published it) until the file arrives: one line naming the file to add."""
        first_unknown = self.known_until(today)
        if today < date(first_unknown.year - 1, 11, 1):
            return None
        return (f"warning: no PRC working-day schedule for {first_unknown.year} "
                f"(needed from {first_unknown.isoformat()}): add {self.override_dir}/cn-{first_unknown.year}.yaml "
                f"or run slawatch calendars import")

    def nonstandard_days(self, year: int) -> list[tuple[date, bool]]:
        """The year's days that differ from Mon–Fri on, weekends off: (day, is_workday)."""
        day, out = date(year, 1, 1), []
        while day.year == year:
            on = self.is_workday(day)
            if on != (day.weekday() < 5):
                out.append((day, on))
            day += timedelta(days=1)
        return out
