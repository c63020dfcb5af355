"""An evaluation case built from what is stored: a contract and its incidents,
their state folded from the timeline (read-only, one plain query)."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.contracts.models import Case, Contract
from app.contracts.service import contract_of
from app.contracts.types import parse_month
from app.incidents.service import case_incident, state_of
from app.storage.tables import ContractRow, IncidentEvent, IncidentRow


def current_period(contract: Contract, at: datetime) -> str:
    local = at.astimezone(ZoneInfo(contract.timezone))
    return f"{local.year:04d}-{local.month:02d}"


async def case_for(db: AsyncSession, row: ContractRow, period: str | None, at: datetime) -> Case:
    contract = contract_of(row)
    # one round trip, plain rows (no ORM identity map): the contract's incidents with their events
    inc, ev = IncidentRow.__table__.c, IncidentEvent.__table__.c
    q = (sa_select(inc.id, inc.category, inc.started_at, inc.reported_at, ev.kind, ev.at, ev.data, ev.seq)
         .join_from(IncidentRow.__table__, IncidentEvent.__table__, ev.incident_id == inc.id)
         .where(inc.contract_id == row.id).order_by(inc.reported_at, inc.id, ev.seq))
    grouped: dict[str, tuple[SimpleNamespace, list[SimpleNamespace]]] = {}
    for r in (await db.exec(q)).all():
        if r.id not in grouped:
            grouped[r.id] = (SimpleNamespace(id=r.id, category=r.category, started_at=r.started_at,
                                             reported_at=r.reported_at), [])
        grouped[r.id][1].append(SimpleNamespace(kind=r.kind, at=r.at, data=r.data, actor="", note=""))
    if period is not None:
        parse_month(period)
    # stored values were validated on the way in: no second validation on the way out
    return Case.model_construct(contract=contract,
                                incidents=[case_incident(i, state_of(evs)) for i, evs in grouped.values()],
                                period=period or current_period(contract, at), at=at.astimezone(timezone.utc))
