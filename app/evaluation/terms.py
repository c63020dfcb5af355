"""A template bound to one contract: its zone, its parameters, its calendars and
its windows with concrete limits. Built once per (template, zone, params) and
reused, so calendar day spans are computed once."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from app.calendars import (
    Always,
    Calendar,
    CnWorkdays,
    Weekly,
    WorkdaySchedule,
    parse_hours,
)
from app.contracts.params import resolve_params
from app.contracts.templates import Template, WindowRule

CALENDAR_HOURS_PARAM = "workday_hours"
DEFAULT_HOURS = "09:00-18:00"


@dataclass(frozen=True)
class BoundWindow:
    rule: WindowRule
    limit: timedelta
    calendar: Calendar
    pause_on: frozenset[str]
    basis: str

    @cached_property
    def cited(self) -> dict:
        """The incident-independent part of every row of this window: one dict, shared
        read-only by every row (10,000 contracts' states kept 24 copies each)."""
        r = self.rule
        return {"window": r.name, "clause": r.clause, "original": r.original, "basis": self.basis,
                "limit": r.limit.text if r.limit is not None else limit_text(self.limit), "calendar": r.calendar}


def limit_text(td: timedelta) -> str:
    s = int(td.total_seconds())
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v) or "0s"


@dataclass(frozen=True)
class Terms:
    template: Template
    tz: ZoneInfo
    params: dict[str, Any]
    calendars: dict[str, Calendar]
    windows: tuple[BoundWindow, ...]
    excluded: frozenset[str]
    schedule: WorkdaySchedule


def _calendars(t: Template, tz: ZoneInfo, params: dict[str, Any], schedule: WorkdaySchedule) -> dict[str, Calendar]:
    hours = params.get(CALENDAR_HOURS_PARAM) or parse_hours(DEFAULT_HOURS)
    cals: dict[str, Calendar] = {"always": Always(tz), "cn_workdays": CnWorkdays(tz, schedule, hours)}
    for name, c in t.calendars.items():
        cals[name] = Weekly(name, tz, c.hours(), schedule if c.workdays_only else None)
    return cals


def _bind(t: Template, tz_name: str, params_json: str, schedule: WorkdaySchedule) -> Terms:
    tz = ZoneInfo(tz_name)
    overrides = json.loads(params_json)
    params = resolve_params(t, overrides)
    cals = _calendars(t, tz, params, schedule)
    windows = []
    for w in t.windows:
        cal = cals[w.calendar]
        if w.limit_param is not None:
            limit = params[w.limit_param]
            basis = "contract" if w.limit_param in overrides else w.basis
        else:
            limit = w.limit.resolve(cal.hours_per_workday)
            basis = w.basis
        windows.append(BoundWindow(w, limit, cal, frozenset(w.pause_on), basis))
    excluded = frozenset(e.attribution for e in t.excluded_attributions)
    return Terms(t, tz, params, cals, tuple(windows), excluded, schedule)


_CACHE: dict[tuple, Terms] = {}
_CACHE_MAX = 1024


def bind(t: Template, tz_name: str, overrides: dict[str, Any], schedule: WorkdaySchedule) -> Terms:
    """Raises ``ParamError`` for a bad override. Cached: templates are immutable
    once loaded (the cached Terms keeps them, so the ids stay valid)."""
    key = (id(t), id(schedule), tz_name, json.dumps(overrides, sort_keys=True, default=str))
    terms = _CACHE.get(key)
    if terms is None or terms.template is not t or terms.schedule is not schedule:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        terms = _CACHE[key] = _bind(t, tz_name, key[3], schedule)
    return terms
