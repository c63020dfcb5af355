"""Window limits: ``24h``, ``30m``, ``90s``, ``1h30m``, ``3d`` or working days ``1wd``.

A working-day limit becomes ``n × H`` of in-calendar time, where ``H`` is the
calendar's working hours per day (SEMANTICS §3).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_PART = re.compile(r"(\d+)(d|h|m|s)")
_WD = re.compile(r"^(\d+)wd$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION_HINT = "expected a duration like 2h or 1wd"


@dataclass(frozen=True, slots=True)
class Limit:
    """A window limit as written: a fixed span, or a count of working days."""

    text: str
    span: timedelta | None = None
    workdays: int | None = None

    def resolve(self, hours_per_workday: timedelta | None) -> timedelta:
        if self.span is not None:
            return self.span
        if hours_per_workday is None:
            raise ValueError(f"{self.text}: working-day limits need a calendar with fixed daily hours")
        return self.workdays * hours_per_workday

    def __str__(self) -> str:
        return self.text


def parse_span(text: str) -> timedelta:
    """Parse ``24h``/``1h30m``/``0s``; raise ValueError with the standard hint."""
    if not isinstance(text, str) or not text:
        raise ValueError(DURATION_HINT)
    pos, seconds = 0, 0
    for m in _PART.finditer(text):
        if m.start() != pos:
            raise ValueError(DURATION_HINT)
        seconds += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(DURATION_HINT)
    return timedelta(seconds=seconds)


def parse_limit(text: str) -> Limit:
    if isinstance(text, str):
        m = _WD.match(text)
        if m:
            n = int(m.group(1))
            if n <= 0:
                raise ValueError("a working-day limit must be at least 1wd")
            return Limit(text, workdays=n)
    span = parse_span(text)
    if span <= timedelta(0):
        raise ValueError("a window limit must be longer than 0s")
    return Limit(text, span=span)
