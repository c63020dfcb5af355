"""Calendars (SEMANTICS §2–§3): PRC working days, weekly calendars, elapsed and deadline."""
import shutil
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conftest import RULES_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendars import (
    Always,
    CalendarError,
    CnWorkdays,
    Weekly,
    WorkdaySchedule,
    deadline,
    elapsed,
    merge,
)
from app.calendars.workdays import parse_hours
from app.contracts.rules import load_rules

SH = ZoneInfo("Asia/Shanghai")
SCHEDULE = WorkdaySchedule()
NINE_TO_SIX = parse_hours("09:00-18:00")
CN = CnWorkdays(SH, SCHEDULE, NINE_TO_SIX)
ALWAYS = Always(SH)


def local(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=SH)


@pytest.mark.parametrize("day, working", [
    *[(date(2026, 10, d), False) for d in range(1, 8)],   # National Day week
    (date(2026, 10, 10), True),                           # Saturday make-up day
    (date(2026, 9, 20), True),                            # Sunday make-up day
    (date(2026, 9, 25), False),                           # Friday, Mid-Autumn
    (date(2026, 10, 9), True),                            # an ordinary Friday
    (date(2026, 10, 11), False),                          # an ordinary Sunday
])
def test_prc_working_days_2026(day, working):
    assert SCHEDULE.is_workday(day) is working


def test_unknown_year_names_the_file_to_add():
    with pytest.raises(CalendarError) as e:
        SCHEDULE.is_workday(date(2027, 1, 4))
    assert str(e.value) == "no PRC working-day schedule for 2027: add sla_rules/calendars/cn-2027.yaml"


def test_override_file_adds_a_year(tmp_path, evaluate):
    root = tmp_path / "sla_rules"
    shutil.copytree(RULES_DIR / "templates", root / "templates")
    case = {"contract": {"id": "c", "template": "ningbo-colo"},
            "incidents": [{"id": "i", "category": "server_fault", "attribution": "provider",
                           "started_at": "2027-01-01T10:00:00+08:00"}],
            "period": "2027-01", "at": "2027-01-02T00:00:00+08:00"}
    from app.contracts.errors import CaseError
    with pytest.raises(CaseError) as e:
        evaluate(case, load_rules(root))
    assert str(e.value) == ("/incidents/0/reported_at: no PRC working-day schedule for 2027: "
                            "add sla_rules/calendars/cn-2027.yaml")
    (root / "calendars").mkdir()
    (root / "calendars" / "cn-2027.yaml").write_text(
        "year: 2027\nholidays: [2027-01-01]\nworkdays: [2027-01-09]\n", encoding="utf-8")
    r = evaluate(case, load_rules(root))
    resolve = next(x for x in r["windows"] if x["window"] == "resolve_1wd")
    # Fri 01-01 holiday, Sat 01-02 and Sun 01-03 off → Mon 01-04 09:00 + 9 h
    assert resolve["deadline"] == "2027-01-04T18:00:00+08:00"
    assert resolve["status"] == "running"


def test_limit_used_up_at_end_of_day_gives_18_00_not_next_morning():
    assert deadline(CN, local("2026-11-23T09:00"), timedelta(hours=9)) == local("2026-11-23T18:00")


def test_start_outside_hours_starts_at_next_working_instant():
    # Saturday 2026-11-21 → Monday 09:00
    assert deadline(CN, local("2026-11-21T12:00"), timedelta(hours=1)) == local("2026-11-23T10:00")
    # before holidays: Wed 2026-09-30 17:00 → 1 h to 18:00, then the next working day is Thu 10-08
    assert deadline(CN, local("2026-09-30T17:00"), timedelta(hours=2)) == local("2026-10-08T10:00")


def test_make_up_saturday_counts():
    assert deadline(CN, local("2026-10-09T17:00"), timedelta(hours=2)) == local("2026-10-10T10:00")


def test_long_spans_do_not_step_by_minute():
    # 200 working days of 9 h: a year of calendar days, stepped day by day
    d = deadline(CN, local("2026-01-05T09:00"), timedelta(hours=9 * 200))
    assert elapsed(CN, local("2026-01-05T09:00"), d) == timedelta(hours=9 * 200)


def test_pauses_are_cut_out_of_the_clock():
    start = local("2026-10-12T09:00")
    pause = [(local("2026-10-12T10:00"), local("2026-10-12T12:00"))]
    assert deadline(ALWAYS, start, timedelta(hours=3), pause) == local("2026-10-12T14:00")
    assert elapsed(ALWAYS, start, local("2026-10-12T14:00"), pause) == timedelta(hours=3)


def test_weekly_online_support_calendar():
    cal = Weekly("inolink_online_support", SH,
                 {i: parse_hours("08:30-20:30") for i in range(5)} | {5: parse_hours("09:20-17:20")})
    # Sat 2026-10-17 17:00 + 1 h: 20 min on Saturday, nothing on Sunday, 40 min Monday
    assert deadline(cal, local("2026-10-17T17:00"), timedelta(hours=1)) == local("2026-10-19T09:10")
    assert cal.hours_per_workday is None


def test_onsite_calendar_is_working_days_that_fall_mon_to_fri():
    cal = Weekly("inolink_onsite", SH, {i: parse_hours("09:00-17:00") for i in range(5)}, SCHEDULE)
    # Fri 10-09 16:00 + 2 h: 1 h Friday; Sat 10-10 is a make-up working day but not Mon–Fri
    assert deadline(cal, local("2026-10-09T16:00"), timedelta(hours=2)) == local("2026-10-12T10:00")
    # Thu 10-01 is a weekday but a holiday
    assert deadline(cal, local("2026-09-30T16:00"), timedelta(hours=2)) == local("2026-10-08T10:00")


def test_merge_joins_touching_and_overlapping():
    a, b, c, d = (local(f"2026-10-12T{h:02d}:00") for h in (1, 2, 3, 4))
    assert merge([(c, d), (a, b), (b, c)]) == [(a, d)]
    assert merge([(a, a)]) == []


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 6, 30),
                        timezones=st.just(timezone.utc))
limits = st.integers(min_value=0, max_value=60 * 24 * 40).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from([ALWAYS, CN])
pauses = st.lists(st.tuples(st.integers(0, 60 * 24 * 20), st.integers(1, 60 * 24 * 3)), max_size=4)


def _pauses(start, spec):
    return merge((start + timedelta(minutes=a), start + timedelta(minutes=a + b)) for a, b in spec)


@settings(max_examples=300, deadline=None)
@given(calendars, instants, st.integers(0, 60 * 24 * 30).map(lambda m: timedelta(minutes=m)), pauses)
def test_elapsed_of_deadline_is_the_limit(cal, start, limit, spec):
    p = _pauses(start, spec)
    assert elapsed(cal, start, deadline(cal, start, limit, p), p) == limit


@settings(max_examples=200, deadline=None)
@given(calendars, instants, limits, limits)
def test_deadlines_never_decrease_as_the_limit_grows(cal, start, a, b):
    lo, hi = sorted((a, b))
    assert deadline(cal, start, lo) <= deadline(cal, start, hi)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, limits, pauses)
def test_a_pause_never_brings_a_deadline_earlier(cal, start, limit, spec):
    assert deadline(cal, start, limit, _pauses(start, spec)) >= deadline(cal, start, limit)


# --- the fixed-offset fast path shows and splits instants exactly as ZoneInfo does ---

from app.calendars.periods import local_days  # noqa: E402
from app.calendars.zones import LocalTime, fixed_offset  # noqa: E402

ZONES = ["Asia/Shanghai", "Europe/Berlin", "UTC", "America/New_York"]
INSTANTS = st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2120, 1, 1),
                        timezones=st.just(timezone.utc))


def test_only_zones_without_changes_get_a_fixed_offset():
    assert fixed_offset(ZoneInfo("Asia/Shanghai")) == timezone(timedelta(hours=8))
    assert fixed_offset(ZoneInfo("UTC")) == timezone.utc
    assert fixed_offset(ZoneInfo("Europe/Berlin")) is None


@settings(max_examples=300, deadline=None)
@given(INSTANTS, st.sampled_from(ZONES))
def test_local_time_is_zoneinfos_isoformat(instant, zone):
    # Shanghai kept daylight saving until 1991: those instants must not take the fast path
    tz = ZoneInfo(zone)
    assert LocalTime(tz)(instant) == instant.astimezone(tz).isoformat()


@settings(max_examples=300, deadline=None)
@given(INSTANTS, st.integers(1, 5 * 86400), st.sampled_from(ZONES))
def test_local_days_match_zoneinfo_midnights(start, seconds, zone):
    tz = ZoneInfo(zone)
    end = start + timedelta(seconds=seconds)
    days = local_days(start, end, tz)
    assert days[0][0] == start.astimezone(tz).date() and days[-1][1] < end <= days[-1][2]
    for day, a, b in days:
        assert a == datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(timezone.utc)
        assert b == datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(timezone.utc)
