"""``elapsed`` and ``deadline`` on a calendar, minus pauses (SEMANTICS §3, §5).

Both walk spans, not minutes: a limit of days on a working-day calendar costs
one step per calendar day, and 24×7 costs one step.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from app.calendars.base import Calendar, Span

ZERO = timedelta(0)


def merge(intervals: Iterable[Span]) -> list[Span]:
    """Sort and merge half-open intervals; empty ones are dropped."""
    out: list[list[datetime]] = []
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1][1] = e
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _running(cal: Calendar, start: datetime, pauses: list[Span], until: datetime | None = None) -> Iterator[Span]:
    """Calendar spans from ``start`` (beginning before ``until``, when given) with
    the (merged, sorted) pauses cut out."""
    spans = cal.spans_from(start, until)
    if not pauses:
        yield from spans
        return
    i, n = 0, len(pauses)
    for s, e in spans:
        while i < n and pauses[i][1] <= s:
            i += 1
        j = i
        while j < n and pauses[j][0] < e:
            ps, pe = pauses[j]
            if ps > s:
                yield (s, ps)
            if pe >= e:
                s = e
                break
            if pe > s:
                s = pe
            j += 1
        if s < e:
            yield (s, e)


def elapsed(cal: Calendar, a: datetime, b: datetime, pauses: list[Span] = ()) -> timedelta:
    """In-calendar time inside ``[a, b)``, not counting pauses. Looks up no day at
    or after ``b``: a year-end interval never needs next year's schedule."""
    if b <= a:
        return ZERO
    if cal.continuous and not pauses:
        return b - a
    total = ZERO
    for s, e in _running(cal, a, pauses, b):
        if s >= b:
            break
        total += (e if e < b else b) - s
    return total


def deadline(cal: Calendar, start: datetime, limit: timedelta, pauses: list[Span] = ()) -> datetime:
    """Earliest ``t`` with ``elapsed(cal, start, t) == limit``.

    A limit used up exactly at the end of a span gives that end (18:00, not the
    next morning). A start outside service time begins at the next span.
    """
    if limit <= ZERO:
        return start
    if cal.continuous and not pauses:
        return start + limit
    remaining = limit
    for s, e in _running(cal, start, pauses):
        if e - s >= remaining:
            return s + remaining
        remaining -= e - s
    raise AssertionError("calendar spans ended")  # spans_from never ends
