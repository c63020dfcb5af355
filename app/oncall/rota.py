"""Who is on duty at an instant (pure): an override for the team if one covers it,
else each shift that covers it — a shift belongs to the day it starts, and that
day's kind comes from the PRC schedule (调休 days are working days, holidays rest
days); a rotating shift names one person, in turn from ``since``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.calendars.schedule import WorkdaySchedule
from app.oncall.models import OnCall, Person, Shift, Team, parse_clock


@dataclass(frozen=True)
class Duty:
    team: str
    shift: str  # the shift's name, or "override"
    people: tuple[Person, ...]
    start: datetime
    end: datetime


def _bounds(shift: Shift, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, parse_clock(shift.start), tzinfo=tz)
    end_clock = parse_clock(shift.end)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz) if end_clock is None else \
        datetime.combine(day, end_clock, tzinfo=tz)
    if end <= start:
        end += timedelta(days=1)  # a night shift: it ends the next day
    return start, end


def _applies(shift: Shift, day: date, schedule: WorkdaySchedule) -> bool:
    return shift.days == "every_day" or schedule.is_workday(day) == (shift.days == "workdays")


def _people(shift: Shift, day: date) -> tuple[str, ...]:
    if shift.rotate == "none":
        return tuple(shift.people)
    n = (day - shift.since).days // (7 if shift.rotate == "weekly" else 1)
    return (shift.people[n % len(shift.people)],)


def on_duty(oncall: OnCall, schedule: WorkdaySchedule, at: datetime) -> list[Duty]:
    """Every team's duty at ``at`` (a team with no shift then is absent)."""
    tz = ZoneInfo(oncall.timezone)
    people = {p.id: p for p in oncall.people}
    local = at.astimezone(tz)
    out = []
    for team in oncall.teams:
        duty = _override(oncall, team, at, people) or _shift(team, local, schedule, people)
        if duty is not None:
            out.append(duty)
    return out


def _override(oncall: OnCall, team: Team, at: datetime, people: dict) -> Duty | None:
    for o in oncall.overrides:
        if o.team == team.id and o.start <= at < o.end:
            return Duty(team.id, "override", tuple(people[p] for p in o.people), o.start, o.end)
    return None


def _shift(team: Team, local: datetime, schedule: WorkdaySchedule, people: dict) -> Duty | None:
    for shift in team.shifts:
        for day in (local.date(), local.date() - timedelta(days=1)):  # a night shift began the day before
            start, end = _bounds(shift, day, local.tzinfo)
            if start <= local < end and _applies(shift, day, schedule):
                return Duty(team.id, shift.name, tuple(people[p] for p in _people(shift, day)), start, end)
    return None


def paged(oncall: OnCall | None, schedule: WorkdaySchedule, team_id: str | None, to: str,
          at: datetime) -> list[Person]:
    """Who an escalation step pages: the team's people on duty at ``at``, or its lead
    or duty manager; nobody without a rota (the channels' own mentions still apply)."""
    if oncall is None:
        return []
    team = next((t for t in oncall.teams if t.id == team_id), None) if team_id else oncall.teams[0]
    if team is None:
        return []
    people = {p.id: p for p in oncall.people}
    if to in ("lead", "manager"):
        who = getattr(team, to)
        return [people[who]] if who else []
    duty = next((d for d in on_duty(oncall, schedule, at) if d.team == team.id), None)
    return list(duty.people) if duty else []
