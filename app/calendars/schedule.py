"""PRC working days: weekends off, public holidays off, make-up days (调休上班) on.

Years come from the chinese-calendar package; operator files
``sla_rules/calendars/cn-YYYY.yaml`` add a year or replace one (parsed at the
edge and handed in here as ``YearOverride``). A year known to neither is an
error naming the file to add — never a silent guess (SEMANTICS §2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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
                f"add {self.override_dir}/cn-{day.year}.yaml") from None
