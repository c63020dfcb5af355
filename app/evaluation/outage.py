"""Provider outage (SEMANTICS §6), affected days (§8) and the continuous-outage
termination right (§10)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.calendars import merge
from app.calendars.periods import local_days
from app.contracts.types import OUTAGE_CATEGORIES
from app.evaluation.incidents import Occurrence, Span
from app.evaluation.maintenance import MAINTENANCE

CUSTOMER_WAIT = "waiting_on_customer"
NOT_OUTAGE = frozenset({CUSTOMER_WAIT, MAINTENANCE})


def outage_pieces(occ: Occurrence, at: datetime) -> list[Span]:
    """One incident's outage: ``[started, resolved or at)`` minus its
    waiting-on-customer pauses (ningbo-colo 六.5) and announced maintenance."""
    end = occ.resolved if occ.resolved is not None else at
    if end <= occ.started:
        return []
    pieces = [(occ.started, end)]
    for ps, pe in merge(occ.paused(NOT_OUTAGE)):
        nxt = []
        for s, e in pieces:
            if pe <= s or ps >= e:
                nxt.append((s, e))
                continue
            if ps > s:
                nxt.append((s, ps))
            if pe < e:
                nxt.append((pe, e))
        pieces = nxt
    return pieces


def provider_outage(occs: list[Occurrence], at: datetime) -> tuple[list[Span], dict[int, list[Span]]]:
    """The union over counting outage incidents, and each incident's own pieces."""
    own = {o.index: outage_pieces(o, at) for o in occs if o.counts and o.incident.category in OUTAGE_CATEGORIES}
    return merge(p for pieces in own.values() for p in pieces), own


def clip(spans: list[Span], p0: datetime, p1: datetime) -> list[Span]:
    return [(max(s, p0), min(e, p1)) for s, e in spans if s < p1 and e > p0]


def total(spans: list[Span]) -> timedelta:
    return sum((e - s for s, e in spans), timedelta(0))


def affected_days(spans: list[Span], tz: ZoneInfo, min_per_day: timedelta) -> list[date]:
    """Local days whose outage is more than 0 and at least ``min_per_day``. An outage
    ending exactly at 00:00 does not touch the day that begins then."""
    per_day: dict[date, timedelta] = {}
    for s, e in spans:
        for day, a, b in local_days(s, e, tz):
            per_day[day] = per_day.get(day, timedelta(0)) + (min(e, b) - max(s, a))
    return sorted(d for d, t in per_day.items() if t > timedelta(0) and t >= min_per_day)


def continuous_outage_since(union: list[Span], p0: datetime, p1: datetime, at: datetime,
                            minimum: timedelta) -> datetime | None:
    """Earliest ``start + minimum`` over maximal outage intervals (not cut at the
    period) lasting at least ``minimum``, overlapping the period, and reached by ``at``."""
    for s, e in union:
        if e - s >= minimum and s < p1 and e > p0 and s + minimum <= at:
            return s + minimum
    return None
