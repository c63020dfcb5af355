"""What a calendar is: an ordered stream of in-service spans, as aware UTC instants."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
_US = timedelta(microseconds=1)
# Far enough for any contract, near enough that adding a limit never overflows.
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)
# A calendar with no service time for this many consecutive days is an error,
# never an endless loop.
MAX_IDLE_DAYS = 3660

Span = tuple[datetime, datetime]
Hours = tuple[tuple[time, time | None], ...]  # end None means 24:00


class CalendarError(ValueError):
    """An instant the calendar cannot place (e.g. a year with no holiday schedule,
    then ``year`` names it)."""

    def __init__(self, message: str, year: int | None = None):
        super().__init__(message)
        self.year = year


class Calendar:
    """Base: ``spans_from(start, until)`` yields ``[s, e)`` spans with ``e > start``,
    in order; with ``until``, only spans that begin before it, and no day at or
    after ``until`` is looked up (SEMANTICS §2: only a date actually needed may
    be an unknown year)."""

    name: str = "calendar"
    tz: ZoneInfo
    hours_per_workday: timedelta | None = None
    continuous = False  # every instant is service time: arithmetic is plain subtraction

    def spans_from(self, start: datetime, until: datetime | None = None) -> Iterator[Span]:  # pragma: no cover
        raise NotImplementedError


class Always(Calendar):
    """24×7: every instant is service time."""

    name = "always"
    hours_per_workday = timedelta(hours=24)
    continuous = True

    def __init__(self, tz: ZoneInfo):
        self.tz = tz

    def spans_from(self, start: datetime, until: datetime | None = None) -> Iterator[Span]:
        if until is None or until > start:
            yield (start, FAR_FUTURE)


class Daily(Calendar):
    """A calendar given by its service hours on each local date."""

    def __init__(self, name: str, tz: ZoneInfo):
        self.name = name
        self.tz = tz
        self._cache: dict[date, tuple[Span, ...]] = {}

    def hours_on(self, day: date) -> Hours:  # pragma: no cover - abstract
        raise NotImplementedError

    def _day_spans(self, day: date) -> tuple[Span, ...]:
        spans = self._cache.get(day)
        if spans is None:
            tz = self.tz
            out = []
            for a, b in self.hours_on(day):
                s = datetime.combine(day, a, tzinfo=tz).astimezone(UTC)
                e = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz) if b is None
                     else datetime.combine(day, b, tzinfo=tz)).astimezone(UTC)
                out.append((s, e))
            spans = self._cache[day] = tuple(out)
        return spans

    def spans_from(self, start: datetime, until: datetime | None = None) -> Iterator[Span]:
        day = start.astimezone(self.tz).date()
        # a day's spans lie inside its own local date: the last day that can hold
        # a span beginning before ``until`` is the date of the instant just before it
        last = (until - _US).astimezone(self.tz).date() if until is not None else date.max
        idle = 0
        one = timedelta(days=1)
        while day <= last:
            spans = self._day_spans(day)
            if spans:
                idle = 0
                for s, e in spans:
                    if e > start:
                        yield (s if s > start else start, e)
            else:
                idle += 1
                if idle > MAX_IDLE_DAYS:
                    raise CalendarError(f"calendar {self.name} has no service time after {day.isoformat()}")
            day += one
