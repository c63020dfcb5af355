"""Window rows (SEMANTICS §5): deadline, status, elapsed and overdue per incident
and window of its category."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.calendars import CalendarError, deadline, elapsed, merge
from app.contracts.errors import CaseError
from app.evaluation.incidents import Occurrence
from app.evaluation.terms import BoundWindow

ZERO = timedelta(0)


def seconds(td: timedelta) -> int | float:
    """Whole seconds as an int; sub-second inputs keep their microseconds."""
    if td.microseconds:
        return td.total_seconds()
    return td.days * 86400 + td.seconds


def window_row(occ: Occurrence, w: BoundWindow, at: datetime, tz) -> dict:
    start = occ.reported
    pauses = merge(occ.paused(w.pause_on)) if occ.pauses else ()
    due = deadline(w.calendar, start, w.limit, pauses)
    stop = occ.stops[w.rule.clock_stop]
    if not occ.counts:
        status, spent, over = "excluded", ZERO, ZERO
    elif stop is not None:
        spent = elapsed(w.calendar, start, stop, pauses)
        status, over = ("met", ZERO) if spent <= w.limit else ("breached", spent - w.limit)
    else:
        spent = elapsed(w.calendar, start, at, pauses)
        if at > due:
            status, over = "breached", max(spent - w.limit, ZERO)
        else:
            status, over = "running", ZERO
    return {
        "incident_id": occ.incident.id,
        "window": w.rule.name,
        "clause": w.rule.clause,
        "original": w.rule.original,
        "basis": w.basis,
        "limit": w.rule.limit.text if w.rule.limit is not None else _limit_text(w.limit),
        "calendar": w.rule.calendar,
        "clock_start": start.astimezone(tz).isoformat(),
        "deadline": due.astimezone(tz).isoformat(),
        "stopped_at": stop.astimezone(tz).isoformat() if stop is not None else None,
        "status": status,
        "elapsed_seconds": seconds(spent),
        "overdue_seconds": seconds(over),
        "provisional": occ.attribution == "unknown",
        "attribution": occ.attribution,
    }


def _limit_text(td: timedelta) -> str:
    s = int(td.total_seconds())
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v) or "0s"


def window_rows(occs: list[Occurrence], windows: tuple[BoundWindow, ...], p0: datetime, p1: datetime,
                at: datetime, tz) -> list[dict]:
    """Rows for every incident reported in ``[p0, p1)``, ordered by ``reported_at``
    then the template's window order."""
    rows = []
    for occ in sorted((o for o in occs if p0 <= o.reported < p1), key=lambda o: o.reported):
        cat = occ.incident.category
        try:
            rows.extend(window_row(occ, w, at, tz) for w in windows if cat in w.rule.applies_to)
        except CalendarError as exc:
            raise CaseError(f"/incidents/{occ.index}/reported_at", str(exc)) from None
    return rows
