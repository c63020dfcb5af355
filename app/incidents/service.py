"""Incidents in the database: created by hand or by detection, worked through
timeline events, and turned into the engine's case for windows and credits."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.contracts.models import Incident, Pause
from app.incidents import detect
from app.incidents.timeline import Event, State, TransitionError, apply, check, fold
from app.storage.results import NewResult, insert_results
from app.storage.tables import IncidentEvent, IncidentRow, ProbeResultRow, TargetRow

log = logging.getLogger("slawatch.incidents")
FUTURE_SKEW = 60  # seconds an action's time may be ahead of the server's clock


def now() -> datetime:
    return datetime.now(timezone.utc)


async def events_of(db: AsyncSession, incident_ids: list[str]) -> dict[str, list[IncidentEvent]]:
    out: dict[str, list[IncidentEvent]] = {i: [] for i in incident_ids}
    if incident_ids:
        q = select(IncidentEvent).where(IncidentEvent.incident_id.in_(incident_ids)).order_by(IncidentEvent.seq)
        for e in (await db.exec(q)).all():
            out[e.incident_id].append(e)
    return out


def as_event(e: IncidentEvent) -> Event:
    return event(e.kind, e.at, e.data, e.actor, e.note)


def event(kind: str, at: datetime, data: dict, actor: str = "", note: str = "") -> Event:
    """A stored event as the timeline folds it (``announced_at`` back to an instant)."""
    if data.get("announced_at"):
        data = {**data, "announced_at": datetime.fromisoformat(data["announced_at"])}
    return Event(kind, at, actor, note, data)


def state_of(events: list[IncidentEvent]) -> State:
    return fold([as_event(e) for e in events])


def case_incident(row: IncidentRow, state: State) -> Incident:
    """The engine's view (SEMANTICS §4) of a stored incident. Built without
    re-validation: every value was validated when it was written, and instants
    come back from the database as aware UTC."""
    return Incident.model_construct(
        id=row.id, category=row.category, target=row.target_id, attribution=state.attribution, severity=state.severity,
        started_at=row.started_at, reported_at=row.reported_at, acknowledged_at=state.acknowledged_at,
        notified_at=state.notified_at, resolved_at=state.resolved_at, announced_at=state.announced_at,
        pauses=[Pause.model_construct(start=p["start"], end=p["end"], reason=p["reason"]) for p in state.pauses])


async def add_event(db: AsyncSession, row: IncidentRow, existing: list[IncidentEvent], kind: str, at: datetime,
                    actor: str, note: str = "", data: dict | None = None) -> IncidentEvent:
    if at.tzinfo is None:
        raise TransitionError("at", "datetime has no UTC offset")
    at = at.astimezone(timezone.utc)
    if (at - now()).total_seconds() > FUTURE_SKEW:
        raise TransitionError("at", "is in the future")
    state = state_of(existing)
    check(state, kind, at, row.started_at)
    ev = IncidentEvent(incident_id=row.id, seq=len(existing) + 1, kind=kind, at=at, actor=actor, note=note,
                       data=data or {})
    apply(state, as_event(ev))  # raises before anything is written if the event cannot apply
    db.add(ev)
    existing.append(ev)
    return ev


async def record_page(db: AsyncSession, incident_id: str, note: str, data: dict) -> bool:
    """A "paged" event on the incident's timeline (an on-duty message was sent about it);
    False when the incident is gone or voided. In the caller's transaction."""
    row = await db.get(IncidentRow, incident_id)
    if row is None:
        return False
    try:
        await add_event(db, row, (await events_of(db, [row.id]))[row.id], "paged", now(), "slawatch", note[:500],
                        data)
    except TransitionError:
        return False
    return True


async def open_incident(db: AsyncSession, *, incident_id: str, contract_id: str, category: str,
                        started_at: datetime, reported_at: datetime, actor: str, source: str = "manual",
                        target_id: str | None = None, note: str = "") -> tuple[IncidentRow, list[IncidentEvent]]:
    row = IncidentRow(id=incident_id, contract_id=contract_id, target_id=target_id, category=category, source=source,
                      started_at=started_at, reported_at=reported_at)
    db.add(row)
    await db.flush()  # the row before its events (foreign key)
    events: list[IncidentEvent] = []
    await add_event(db, row, events, "opened", reported_at, actor, note)
    return row, events


# --- probe results → incidents --------------------------------------------------------

async def record_results(db: AsyncSession, rows: list[NewResult]) -> None:
    """One batch in one bulk write, committed before any of it counts toward an incident."""
    if rows:
        await insert_results(db, rows)
        await db.commit()


def probe_incident_id(target_id: str, started_at: datetime) -> str:
    return f"{target_id}@{started_at.strftime('%Y%m%dT%H%M%S.%fZ')}"


async def apply_detection(db: AsyncSession, target: TargetRow, earliest: datetime | None = None) -> list[str]:
    """Run detection over the target's stored results since its last probe
    incident; create or resolve incidents to match. Idempotent: replaying the
    same results changes nothing. ``earliest`` (the oldest result written since
    the last detection) bounds what is read to a few rounds before it, so the
    cost per probe never grows with stored history. Returns the incidents touched."""
    return (await detection(db, target, earliest))[0]


# complexity 16, kept: resume, detect, open/resolve in one transaction (split, steps would pass half-states)
async def detection(db: AsyncSession, target: TargetRow, earliest: datetime | None = None) -> tuple[list[str], bool]:
    """``apply_detection``, and whether an incident of the target's probes is open after it."""
    last = (await db.exec(select(IncidentRow).where(IncidentRow.target_id == target.id, IncidentRow.source == "probe")
                          .order_by(IncidentRow.started_at.desc()).limit(1))).first()
    since, opened = None, None
    if last is not None:
        st = state_of((await events_of(db, [last.id]))[last.id])
        since = last.started_at if st.status != "resolved" else st.resolved_at
        if st.status != "resolved":
            opened = (last.started_at, last.reported_at)
    if earliest is not None:
        bound = detect.lookback(earliest, target.interval, target.failures_to_open, target.successes_to_close)
        if since is None or bound > since:
            since = bound  # resume from a recent round, in the state the last incident left
        else:
            opened = None  # the last incident's own rounds are re-read: detection finds it again
    else:
        opened = None
    q = select(ProbeResultRow).where(ProbeResultRow.target_id == target.id)
    if since is not None:
        q = q.where(ProbeResultRow.started_at >= since)
    results = list((await db.exec(q.order_by(ProbeResultRow.started_at))).all())
    spans = detect.detect(detect.rounds(results, target.interval, target.quorum),
                          target.failures_to_open, target.successes_to_close, opened)
    touched = []
    for span in spans:
        iid = probe_incident_id(target.id, span.started_at)
        row = await db.get(IncidentRow, iid)
        if row is None:
            row, evs = await open_incident(db, incident_id=iid, contract_id=target.contract_id,
                                           category=target.category, started_at=span.started_at,
                                           reported_at=span.reported_at, actor="detector", source="probe",
                                           target_id=target.id, note="failed probe rounds")
            touched.append(iid)
            error = next((r.error for r in results if r.started_at >= span.started_at and not r.ok), None)
            log.info("incident %s OPENED: %s failing since %s (%s); contract %s, %s", iid, target.id,
                     span.started_at.isoformat(timespec="seconds"), error, target.contract_id, target.category)
        else:
            evs = (await events_of(db, [iid]))[iid]
        if span.resolved_at is not None:
            state = state_of(evs)
            if state.status in ("open", "paused"):
                # a staff action recorded after the restoration keeps the timeline in order
                at = max(span.resolved_at, state.last_at)
                await add_event(db, row, evs, "resolved", at, "detector", "probes succeed again",
                                {"restored_at": span.resolved_at.isoformat()} if at != span.resolved_at else {})
                touched.append(iid)
                log.info("incident %s RESOLVED: %s good again since %s", iid, target.id,
                         span.resolved_at.isoformat(timespec="seconds"))
    await db.commit()
    still_open = spans[-1].resolved_at is None if spans else opened is not None
    return touched, still_open


async def count_incidents(db: AsyncSession) -> int:
    return (await db.exec(select(func.count()).select_from(IncidentRow))).one()
