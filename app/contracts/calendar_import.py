"""``slawatch calendars import FILE``: one year's State Council schedule (法定节假日
and 调休上班) from the formats Chinese operators already keep, written as
``sla_rules/calendars/cn-YYYY.yaml``.

- holiday-cn JSON: ``{"year": 2027, "papers": [...], "days": [{"name": "元旦",
  "date": "2027-01-01", "isOffDay": true}, ...]}`` (``isOffDay`` false = a make-up
  working day);
- iCalendar (.ics): all-day events, a make-up working day named 补班 or 上班,
  any other event a day off.

Nothing is written unless the whole notice is consistent: a day listed both off
and on, or a day more than one year from the notice's year, refuses it. Days of
an adjacent year (a New Year holiday from 31 December) never change a schedule
already known for that year and never make an unknown year known: a year is
known only from its own notice (SEMANTICS §2; ``basis: policy``)."""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from app.calendars.schedule import WorkdaySchedule
from app.calendars.zones import PRC
from app.contracts.types import MAX_YEAR, MIN_YEAR

MAX_BYTES = 1 << 20  # a year's notice is a few KB; anything bigger is not one
MAX_DAYS_PER_EVENT = 31
WORK_WORDS = re.compile(r"补班|上班")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class NoticeError(ValueError):
    """A notice that cannot be imported: ``FILE: message``; nothing was written."""


@dataclass(frozen=True)
class Day:
    day: date
    off: bool
    name: str


@dataclass
class Notice:
    year: int
    source: str
    days: list[Day]


@dataclass
class Plan:
    year: int
    source: str
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)
    skipped: list[tuple[Day, str]] = field(default_factory=list)


def _clean(text: object, limit: int = 60) -> str:
    return _CONTROL.sub(" ", str(text or "")).strip()[:limit]


def read_notice(path: Path, year: int | None = None) -> Notice:
    """Parse a notice file by its content (JSON or iCalendar)."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise NoticeError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise NoticeError(f"{path}: larger than {MAX_BYTES} bytes: not a holiday notice")
    text = raw.decode("utf-8-sig", errors="replace")
    if text.lstrip().startswith("BEGIN:VCALENDAR"):
        return _from_ics(path, raw, year)
    return _from_holiday_cn(path, text, year)


def _from_holiday_cn(path: Path, text: str, year: int | None) -> Notice:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NoticeError(f"{path}:{exc.lineno}: not JSON or iCalendar: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("days"), list):
        raise NoticeError(f"{path}: days: expected holiday-cn JSON with a list of days")
    y = data.get("year", year)
    if not isinstance(y, int) or isinstance(y, bool):
        raise NoticeError(f"{path}: year: expected an integer year")
    if year is not None and y != year:
        raise NoticeError(f"{path}: year: the notice is for {y}, not {year} (--year)")
    days = []
    for i, d in enumerate(data["days"]):
        if not isinstance(d, dict) or not isinstance(d.get("isOffDay"), bool):
            raise NoticeError(f"{path}: days[{i}].isOffDay: expected true or false")
        try:
            day = date.fromisoformat(str(d.get("date")))
        except ValueError:
            raise NoticeError(f"{path}: days[{i}].date: expected a date like 2027-01-01") from None
        days.append(Day(day, d["isOffDay"], _clean(d.get("name"))))
    papers = [_clean(p, 200) for p in data.get("papers", []) if isinstance(p, str)][:5]
    source = f"holiday-cn JSON {path.name}" + (f"; papers: {', '.join(papers)}" if papers else "")
    return Notice(y, source, days)


def _from_ics(path: Path, raw: bytes, year: int | None) -> Notice:
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(raw)
    except ValueError as exc:
        raise NoticeError(f"{path}: invalid iCalendar: {_clean(exc, 200)}") from None
    days = []
    for ev in cal.walk("VEVENT"):
        summary = _clean(ev.get("SUMMARY"))
        start = ev.decoded("DTSTART", None)
        if start is None:
            raise NoticeError(f"{path}: event {summary!r} has no DTSTART")
        end = ev.decoded("DTEND", None)
        first = start.astimezone(PRC).date() if isinstance(start, datetime) else start
        last = (end.astimezone(PRC).date() if isinstance(end, datetime) else end) if end else first + timedelta(1)
        n = (last - first).days
        if not 1 <= n <= MAX_DAYS_PER_EVENT:
            raise NoticeError(f"{path}: event {summary!r} spans {n} days: expected 1–{MAX_DAYS_PER_EVENT}")
        off = not WORK_WORDS.search(summary)
        days += [Day(first + timedelta(i), off, summary) for i in range(n)]
    if not days:
        raise NoticeError(f"{path}: no events: expected holiday and 补班/上班 events")
    y = year if year is not None else Counter(d.day.year for d in days).most_common(1)[0][0]
    return Notice(y, f"iCalendar {path.name}", days)


def plan(notice: Notice, schedule: WorkdaySchedule) -> Plan:
    """What to write for ``notice.year``, or ``NoticeError`` and nothing."""
    if not MIN_YEAR <= notice.year <= MAX_YEAR:
        raise NoticeError(f"year: {notice.year} is not within {MIN_YEAR}–{MAX_YEAR}")
    seen: dict[date, Day] = {}
    for d in notice.days:
        if abs(d.day.year - notice.year) > 1:
            raise NoticeError(f"{d.day.isoformat()} is more than one year from {notice.year}: not this notice's")
        other = seen.get(d.day)
        if other is not None and other.off != d.off:
            raise NoticeError(f"{d.day.isoformat()} is listed both as a day off and as a working day")
        seen[d.day] = d
    out = Plan(notice.year, notice.source)
    for d in sorted(seen.values(), key=lambda d: d.day):
        if d.day.year != notice.year:
            why = "already known: not changed" if schedule.knows(d.day.year) else \
                "no schedule for that year yet: a year is known only from its own notice"
            out.skipped.append((d, f"{d.day.year} {why}"))
        elif d.off and d.day.weekday() < 5:
            out.holidays[d.day] = d.name
        elif not d.off and d.day.weekday() >= 5:
            out.workdays[d.day] = d.name
        # a weekend day off or a weekday on is the standard week: nothing to record
    return out


def render(p: Plan) -> str:
    def items(days: dict[date, str]) -> str:
        return "".join(f"  - {d.isoformat()}{f'  # {n}' if n else ''}\n" for d, n in sorted(days.items())) or ""
    return (f"# PRC working-day schedule for {p.year}, written by `slawatch calendars import`.\n"
            f"# Weekends are off unless listed under workdays (调休上班); holidays are off.\n"
            f"year: {p.year}\n"
            f"source: {json.dumps(p.source, ensure_ascii=False)}\n"
            f"holidays:{' []' if not p.holidays else ''}\n{items(p.holidays)}"
            f"workdays:{' []' if not p.workdays else ''}\n{items(p.workdays)}")


def write_atomic(path: Path, text: str) -> None:
    """The file appears whole or not at all (a reload never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
