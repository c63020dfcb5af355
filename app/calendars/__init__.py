"""Calendars and business-time arithmetic (SEMANTICS §2–§3). Pure: no I/O, no clock."""
from app.calendars.base import Always, Calendar, CalendarError, Daily
from app.calendars.clock import deadline, elapsed, merge
from app.calendars.schedule import WorkdaySchedule, YearOverride
from app.calendars.workdays import CnWorkdays, Weekly, parse_hours

__all__ = [
    "Always", "Calendar", "CalendarError", "CnWorkdays", "Daily", "Weekly",
    "WorkdaySchedule", "YearOverride", "deadline", "elapsed", "merge", "parse_hours",
]
