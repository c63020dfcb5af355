"""An evaluation case built from what is stored: a contract and its incidents,
their state folded from the timeline (read-only, one plain query)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.service import Principal
from app.calendars.periods import Period
from app.contracts.models import Case, Contract
from app.contracts.service import cached_contract, contract_of, remember_contract
from app.contracts.types import parse_month
from app.incidents.service import case_incident, event
from app.incidents.timeline import VOIDED, Event, fold
from app.maintenance.expand import RANGE, windows_of
from app.storage.db import rows_of
from app.storage.tables import ContractRow, IncidentEvent, IncidentRow, MaintenanceWindowRow

# plain rows (no ORM identity map) of incidents with their events, in case order;
# the statements are built once, so a request pays only for the parameters
_inc, _ev, _c = IncidentRow.__table__.c, IncidentEvent.__table__.c, ContractRow.__table__.c
_CASE_COLUMNS = (_inc.id, _inc.category, _inc.target_id, _inc.started_at, _inc.reported_at, _ev.kind, _ev.at,
                 _ev.data, _ev.seq)
_WITH_EVENTS = IncidentRow.__table__.join(IncidentEvent.__table__, _ev.incident_id == _inc.id)
_CASE_ORDER = (_inc.reported_at, _inc.id, _ev.seq)
INCIDENTS_WITH_EVENTS = (sa_select(*_CASE_COLUMNS).select_from(_WITH_EVENTS)
                         .where(_inc.contract_id == bindparam("contract_id")).order_by(*_CASE_ORDER))
ALL_INCIDENTS_WITH_EVENTS = (sa_select(_inc.contract_id, *_CASE_COLUMNS).select_from(_WITH_EVENTS)
                             .order_by(_inc.contract_id, *_CASE_ORDER))
# a contract's owner and version with its incidents and their events, one round trip;
# the body comes in a second only when this process has not parsed that version yet
_m = MaintenanceWindowRow.__table__.c
_OWN_WINDOWS = (_m.contract_id == _c.id) | (_m.customer_id == _c.customer_id)
# how many maintenance windows concern the contract and the newest one's creation: in the same
# round trip, so the many contracts without any pay no second query (and a change makes a new stamp)
_WINDOWS_STAMP = (sa_select(func.count()).where(_OWN_WINDOWS).scalar_subquery().label("windows"),
                  sa_select(func.max(_m.created_at)).where(_OWN_WINDOWS).scalar_subquery().label("windows_at"))
CONTRACT_WITH_INCIDENTS = (
    sa_select(_c.customer_id, _c.created_at, _c.version, *_WINDOWS_STAMP, _ev.id.label("event_id"),
              *_CASE_COLUMNS)
    .select_from(ContractRow.__table__.outerjoin(_WITH_EVENTS, _inc.contract_id == _c.id))
    .where(_c.id == bindparam("contract_id")).order_by(*_CASE_ORDER))
CONTRACT_BODY = sa_select(_c.body).where(_c.id == bindparam("contract_id"))
# planned maintenance of a contract: its own, its targets' and its customer's (a small table)
MAINTENANCE_OF = sa_select(MaintenanceWindowRow.__table__).where(
    (_m.contract_id == bindparam("contract_id")) | (_m.customer_id == bindparam("customer_id")))
# the live state's rounds: windows old enough to matter to no current case are not read (one-offs pile up)
ALL_MAINTENANCE = sa_select(MaintenanceWindowRow.__table__).where(
    _m.rrule.isnot(None) | (_m.ends_at > bindparam("since")))


def current_period(contract: Contract, at: datetime) -> str:
    local = at.astimezone(ZoneInfo(contract.timezone))
    return f"{local.year:04d}-{local.month:02d}"


async def case_for(db: AsyncConnection, row: ContractRow, period: str | None, at: datetime,
                   contract: Contract | None = None) -> Case:
    """On a Core connection (a session's: ``await session.connection()``); ``contract``
    instead of the stored body (a change not committed yet)."""
    rows = (await db.execute(INCIDENTS_WITH_EVENTS, {"contract_id": row.id})).all()
    planned = (await db.execute(MAINTENANCE_OF, {"contract_id": row.id, "customer_id": row.customer_id})).all()
    return _case(contract or contract_of(row), rows, period, at, (row.customer_id, planned))


async def case_rows(db: AsyncConnection, rows: list, every: bool = True) -> tuple[dict[str, list], list]:
    """The incidents with their events of every contract (``every``: the live state's
    full round), or only of ``rows`` (its incremental rounds), in one query; and
    every stored maintenance window (a small table)."""
    q = ALL_INCIDENTS_WITH_EVENTS
    if not every:
        q = q.where(_inc.contract_id.in_([r.id for r in rows]))
    by_contract: dict[str, list] = {}
    for r in await rows_of(db, q):
        by_contract.setdefault(r.contract_id, []).append(r)
    since = datetime.now(timezone.utc) - RANGE
    return by_contract, (await db.execute(ALL_MAINTENANCE, {"since": since})).all()


def cases_from(rows: list, read: tuple[dict[str, list], list], at: datetime) -> dict[str, Case]:
    """Each contract's case for its current period, from rows carrying their parsed
    ``contract`` and what ``case_rows`` read (pure: a worker thread may build them)."""
    by_contract, planned = read
    return {row.id: _case(row.contract, by_contract.get(row.id, []), None, at, (row.customer_id, planned))
            for row in rows}


async def visible_case(db: AsyncConnection, who: Principal, contract_id: str, period: str | None,
                       at: datetime) -> Case | None:
    """The case of a contract ``who`` may see, or None (unknown or another customer's)."""
    got = await visible_case_stamped(db, who, contract_id, period, at)
    return got[0]() if got is not None else None


async def visible_case_stamped(db: AsyncConnection, who: Principal, contract_id: str, period: str | None,
                               at: datetime) -> tuple[Callable[[], Case], str, tuple] | None:
    """What ``visible_case`` reads, not yet folded into a case: a builder of the case,
    its period, and what it is built from — the contract's version and its timeline's
    length and newest event (events are append-only, so a write of anything the case
    reads makes a new stamp). A caller that has the answer for that stamp never builds it."""
    rows = (await db.execute(CONTRACT_WITH_INCIDENTS, {"contract_id": contract_id})).all()
    if not rows or not who.sees(rows[0].customer_id):
        return None
    customer_id = rows[0].customer_id
    planned = (await db.execute(MAINTENANCE_OF, {"contract_id": contract_id, "customer_id": customer_id})).all() \
        if rows[0].windows else []
    stamp = (rows[0].created_at, rows[0].version)
    contract = cached_contract(contract_id, stamp)
    if contract is None:
        body = (await db.execute(CONTRACT_BODY, {"contract_id": contract_id})).scalar_one()
        contract = remember_contract(contract_id, stamp, body)
    events = [r for r in rows if r.id is not None]
    if period is not None:
        parse_month(period)
    return (lambda: _case(contract, events, period, at, (customer_id, planned)),
            period or current_period(contract, at),
            (*stamp, len(events), max((r.event_id for r in events), default=0), rows[0].windows,
             rows[0].windows_at))


def _case(contract: Contract, rows, period: str | None, at: datetime,
          planned: tuple[str | None, list] = (None, [])) -> Case:
    """``planned``: the contract's customer and the stored maintenance windows (any
    contract's: those of this one are picked)."""
    grouped: dict[str, tuple[SimpleNamespace, list[Event]]] = {}
    for r in rows:
        group = grouped.get(r.id)
        if group is None:
            group = grouped[r.id] = (SimpleNamespace(id=r.id, category=r.category, target_id=r.target_id,
                                                     started_at=r.started_at, reported_at=r.reported_at), [])
        group[1].append(event(r.kind, r.at, r.data))
    period = period or current_period(contract, at)
    # stored values were validated on the way in: no second validation on the way out
    states = [(i, fold(evs)) for i, evs in grouped.values()]
    # a voided incident stays in its timeline and counts nowhere
    incidents = [case_incident(i, st) for i, st in states if st.status != VOIDED]
    at = at.astimezone(timezone.utc)
    maintenance = []
    customer_id, windows = planned
    if windows:
        tz = ZoneInfo(contract.timezone)
        p = Period.of(*parse_month(period), tz)
        lo = min([p.start, *(i.started_at for i in incidents)])
        maintenance = windows_of(windows, contract.id, customer_id, tz, lo, max(p.end, at))
    else:
        parse_month(period)
    return Case.model_construct(contract=contract, incidents=incidents, maintenance=maintenance, period=period,
                                at=at)
