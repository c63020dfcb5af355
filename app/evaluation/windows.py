"""Window rows (SEMANTICS §5): deadline, status, elapsed and overdue per incident
and window of its category."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.calendars import CalendarError, deadline, elapsed, merge
from app.contracts.errors import CaseError
from app.evaluation.incidents import Occurrence
from app.evaluation.report import WindowRow, seconds
from app.evaluation.terms import BoundWindow

ZERO = timedelta(0)


# complexity 19, kept: the engine's hot path, one case per outcome (not counted, 24×7, paused, stopped, running)
def window_row(occ: Occurrence, w: BoundWindow, cited: dict, limit_seconds: int | float,
               at: datetime) -> WindowRow:
    start = occ.reported
    limit = w.limit
    stop = occ.stops[w.rule.clock_stop]
    pauses = merge(occ.paused(w.pause_on)) if occ.pauses else ()
    plain = w.calendar.continuous and not pauses  # 24×7 without pauses: plain subtraction
    if not occ.counts:
        status, spent, over = "excluded", ZERO, ZERO
    else:
        end = stop if stop is not None else at
        spent = (end - start if end > start else ZERO) if plain else elapsed(w.calendar, start, end, pauses)
        if stop is not None:
            status, over = ("met", ZERO) if spent <= limit else ("breached", spent - limit)
        else:
            status, over = "running", ZERO  # until the deadline says otherwise, below
    if plain:
        due = start + limit
    elif status in ("met", "excluded"):
        # the outcome needs no deadline: one in a year with no schedule yet is
        # shown as unknown rather than stopping the contract (SEMANTICS §2)
        try:
            due = deadline(w.calendar, start, limit, pauses)
        except CalendarError:
            due = None
    else:  # a breach is reached before its stop; a running clock needs its deadline
        due = deadline(w.calendar, start, limit, pauses)
    if status == "running" and at > due:
        status, over = "breached", (spent - limit if spent > limit else ZERO)
    return WindowRow(occ.incident.id, cited, start, due, stop, status, limit_seconds, spent, over, occ.attribution)


def window_rows(occs: list[Occurrence], windows: tuple[BoundWindow, ...], p0: datetime, p1: datetime,
                at: datetime) -> list[WindowRow]:
    """Rows for every incident reported in ``[p0, p1)``, ordered by ``reported_at``
    then the template's window order."""
    rows = []
    # what does not depend on the incident, once per window
    cited = [(w, w.rule.applies_to, w.cited, seconds(w.limit)) for w in windows]
    for occ in sorted((o for o in occs if p0 <= o.reported < p1), key=lambda o: o.reported):
        cat = occ.incident.category
        try:
            rows.extend(window_row(occ, w, c, limit_s, at)
                        for w, applies, c, limit_s in cited if cat in applies)
        except CalendarError as exc:
            reason = f"no_calendar_{exc.year}" if exc.year is not None else "calendar"
            raise CaseError(f"/incidents/{occ.index}/reported_at", str(exc), reason=reason) from None
    return rows
