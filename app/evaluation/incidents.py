"""Incidents as the engine sees them: UTC instants, the effective attribution
(SEMANTICS §4's maintenance rule applied) and pauses closed at the evaluation
instant."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.contracts.models import Incident, Maintenance
from app.contracts.types import COUNTING_ATTRIBUTIONS
from app.evaluation.maintenance import MAINTENANCE, covered, not_excused, why_counted

Span = tuple[datetime, datetime]


@dataclass(slots=True)
class Occurrence:
    index: int
    incident: Incident
    attribution: str  # effective
    started: datetime
    reported: datetime
    resolved: datetime | None  # None while open at the evaluation instant
    pauses: tuple[tuple[datetime, datetime, str], ...]
    stops: dict[str, datetime | None]  # clock-stop field → instant, None if not yet at ``at``
    counts: bool  # counts against the provider (unknown counts until classified)

    def paused(self, reasons: frozenset[str]) -> list[Span]:
        """Pauses for ``reasons``; announced maintenance stops every clock (issue 19)."""
        return [(s, e) for s, e, r in self.pauses if (r in reasons or r == MAINTENANCE) and e > s]


def _stops(inc: Incident, resolved: datetime | None, at: datetime) -> dict[str, datetime | None]:
    """Clock-stop instants; an acknowledgement window of an incident resolved
    without one stops at resolution (§5). Later than ``at``: does not exist yet."""
    out = {"resolved_at": resolved}
    for name in ("acknowledged_at", "notified_at"):
        value = getattr(inc, name)
        out[name] = value if value is not None and value <= at else None
    if inc.acknowledged_at is None:
        out["acknowledged_at"] = resolved
    return out


def effective_attribution(inc: Incident, maintenance_max: timedelta | None, at: datetime) -> str:
    """``announced_maintenance`` is excluded only when announced before it began and,
    where a maximum is set, no longer than it; otherwise it counts as ``provider``
    (xiamen-mail 乙方 5 / 违约 3, aliyun-mail 6.3)."""
    if inc.attribution != MAINTENANCE:
        return inc.attribution
    end = inc.resolved_at if inc.resolved_at is not None and inc.resolved_at <= at else at
    return MAINTENANCE if not_excused(inc.announced_at, inc.started_at, end - inc.started_at,
                                      maintenance_max) is None else "provider"


def occurrences(incidents: list[Incident], maintenance_max: timedelta | None, at: datetime,
                maintenance: list[Maintenance] = ()) -> list[Occurrence]:
    """``maintenance``: the case's windows; those that exclude (``why_counted``) take
    out the part of each counting incident that overlaps them — all of it when the
    incident lies wholly inside (then it is ``announced_maintenance``), else as a pause."""
    excluding = [m for m in maintenance if why_counted(m, maintenance_max) is None]
    out = []
    for i, inc in enumerate(incidents):
        # instants arrive in UTC (the case models normalise them)
        resolved = inc.resolved_at
        if resolved is not None and resolved > at:
            resolved = None
        pauses = tuple((p.start, min(p.end, at) if p.end is not None else at, p.reason)
                       for p in inc.pauses) if inc.pauses else ()
        attribution = effective_attribution(inc, maintenance_max, at)
        if excluding and attribution in COUNTING_ATTRIBUTIONS:
            end = resolved if resolved is not None else at
            inside = covered(inc, excluding, end)
            if inside == [(inc.started_at, end)]:
                attribution = MAINTENANCE
            elif inside:
                pauses += tuple((s, e, MAINTENANCE) for s, e in inside)
        out.append(Occurrence(i, inc, attribution, inc.started_at, inc.clock_start, resolved, pauses,
                              _stops(inc, resolved, at), attribution in COUNTING_ATTRIBUTIONS))
    return out
