"""An evaluation case built from what is stored: a contract and its incidents,
their state folded from the timeline (read-only, one plain query)."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contracts.models import Case, Contract
from app.contracts.service import contract_of
from app.contracts.types import parse_month
from app.incidents.service import case_incident, event
from app.incidents.timeline import Event, fold
from app.storage.tables import ContractRow, IncidentEvent, IncidentRow


# one round trip, plain rows (no ORM identity map): a contract's incidents with their
# events; built once, so a request pays only for the parameters
_inc, _ev = IncidentRow.__table__.c, IncidentEvent.__table__.c
INCIDENTS_WITH_EVENTS = (
    sa_select(_inc.id, _inc.category, _inc.started_at, _inc.reported_at, _ev.kind, _ev.at, _ev.data, _ev.seq)
    .join_from(IncidentRow.__table__, IncidentEvent.__table__, _ev.incident_id == _inc.id)
    .where(_inc.contract_id == bindparam("contract_id")).order_by(_inc.reported_at, _inc.id, _ev.seq))


def current_period(contract: Contract, at: datetime) -> str:
    local = at.astimezone(ZoneInfo(contract.timezone))
    return f"{local.year:04d}-{local.month:02d}"


async def case_for(db: AsyncConnection, row: ContractRow, period: str | None, at: datetime) -> Case:
    """On a Core connection (a session's: ``await session.connection()``)."""
    contract = contract_of(row)
    grouped: dict[str, tuple[SimpleNamespace, list[Event]]] = {}
    for r in (await db.execute(INCIDENTS_WITH_EVENTS, {"contract_id": row.id})).all():
        group = grouped.get(r.id)
        if group is None:
            group = grouped[r.id] = (SimpleNamespace(id=r.id, category=r.category, started_at=r.started_at,
                                                     reported_at=r.reported_at), [])
        group[1].append(event(r.kind, r.at, r.data))
    if period is not None:
        parse_month(period)
    # stored values were validated on the way in: no second validation on the way out
    return Case.model_construct(contract=contract,
                                incidents=[case_incident(i, fold(evs)) for i, evs in grouped.values()],
                                period=period or current_period(contract, at), at=at.astimezone(timezone.utc))
