"""Maintenance windows in iCalendar (RFC 5545): out, for a customer's calendar to
subscribe to; in, from a vendor's maintenance .ics (each VEVENT a window; its UID
makes a stable id, so importing the same file again replaces, never duplicates)."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

from icalendar import Calendar, Event, vRecur
from pydantic import ValidationError

from app.maintenance.schema import MaintenanceIn


class IcsError(ValueError):
    """A VEVENT that cannot be a window: ``where`` names it (its index and UID)."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")


def events(rows: list, tz) -> list[Event]:
    """One VEVENT per stored window, times in ``tz`` (a recurring rule's BYDAY means that zone's days)."""
    out = []
    for r in rows:
        ev = Event()
        ev.add("uid", f"maintenance-{r.id}@slawatch")
        ev.add("summary", f"计划维护 Planned maintenance{': ' + r.note if r.note else ''}")
        ev.add("dtstart", r.starts_at.astimezone(tz))
        ev.add("dtend", r.ends_at.astimezone(tz))
        ev.add("dtstamp", r.created_at)
        if r.rrule:
            ev.add("rrule", vRecur.from_ical(r.rrule))
        told = f"announced {r.announced_at.isoformat()}" if r.announced_at else "not announced"
        ev.add("description", f"{told}{' via ' + r.channel if r.channel else ''}; scope: "
                              f"{r.target_id or r.contract_id or r.customer_id}")
        out.append(ev)
    return out


def to_ics(rows: list, name: str, tz) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//slawatch//maintenance//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"计划维护 Planned maintenance · {name}")
    for ev in events(rows, tz):
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def _instant(ev: Event, name: str, where: str) -> datetime | None:
    prop = ev.get(name)
    if prop is None:
        return None
    try:
        value = prop.dt
    except ValueError as exc:  # icalendar keeps a property it could not parse, and says so here
        raise IcsError(where, f"{name.upper()}: {exc}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise IcsError(where, f"{name.upper()} is a floating time (no zone): give it in UTC or with TZID")
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        raise IcsError(where, f"{name.upper()} is a whole day: maintenance needs a start and end time")
    raise IcsError(where, f"{name.upper()} is not a date-time")


def from_ics(data: bytes, scope: dict, announced_at: datetime | None, limit: int) -> list[MaintenanceIn]:
    """Every VEVENT of ``data`` as a window of ``scope`` (one of contract_id,
    target_id, customer_id). ``announced_at``: when the customer was told (else the
    event's CREATED; else unannounced). Raises ``IcsError`` naming the event."""
    try:
        cal = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise IcsError("file", f"not iCalendar ({exc})") from None
    events = cal.walk("VEVENT")
    if len(events) > limit:
        raise IcsError("file", f"{len(events)} events; at most {limit} in one import")
    out = []
    for i, ev in enumerate(events):
        uid = str(ev.get("uid", "")).strip()
        where = f"VEVENT {i + 1}" + (f" (UID {uid[:80]})" if uid else "")
        if not uid:
            raise IcsError(where, "no UID: an import must be repeatable without duplicates")
        start, end = _instant(ev, "dtstart", where), _instant(ev, "dtend", where)
        if start is None or end is None:
            raise IcsError(where, "needs DTSTART and DTEND")
        rule = ev.get("rrule")
        told = announced_at or _instant(ev, "created", where)
        try:
            out.append(MaintenanceIn(
                id=f"ics-{hashlib.sha256(uid.encode()).hexdigest()[:24]}", starts_at=start, ends_at=end,
                rrule=rule.to_ical().decode() if rule is not None else None, announced_at=told, channel="ics",
                note=str(ev.get("summary", ""))[:2000] or None, **scope))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise IcsError(where, f"{'/'.join(map(str, first['loc'])) or 'event'}: {first['msg']}") from None
    return out
