"""What changed since the last look, by contract — any process's writes: new
incident events (detection, staff actions, claims), billing rows, contracts
added, replaced or deleted. Append-only ids make each a range read on a
primary key (the live SLA state's incremental rounds)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.db import rows_of
from app.storage.tables import ContractRow, IncidentEvent, IncidentRow, InvoiceRow, NoticeRow, StorageSampleRow

_BILLING = (InvoiceRow, StorageSampleRow, NoticeRow)


@dataclass
class Marks:
    events: int = 0
    billing: tuple[int, ...] = (0, 0, 0)
    contracts: dict[str, tuple] = field(default_factory=dict)  # id → (created_at, version)
    digest: tuple = ()  # (count, sum of versions, newest created_at): the contracts read only when it moves


async def _contracts(conn: AsyncConnection) -> dict[str, tuple]:
    c = ContractRow.__table__.c
    return {r.id: (r.created_at, r.version) for r in await rows_of(conn, select(c.id, c.created_at, c.version))}


async def _digest(conn: AsyncConnection) -> tuple:
    """One row however many contracts: a create (a newer created_at), a replace (a
    version more) or a delete (one fewer) each moves it."""
    c = ContractRow.__table__.c
    return tuple((await conn.execute(select(func.count(), func.coalesce(func.sum(c.version), 0),
                                            func.max(c.created_at)))).one())


async def marks(conn: AsyncConnection, before: Marks | None = None) -> Marks:
    """Where things stand now (the contracts carried over from ``before`` while their digest holds)."""
    events = (await conn.execute(select(func.coalesce(func.max(IncidentEvent.__table__.c.id), 0)))).scalar()
    billing = tuple([(await conn.execute(select(func.coalesce(func.max(t.__table__.c.id), 0)))).scalar()
                     for t in _BILLING])
    digest = await _digest(conn)
    same = before is not None and before.digest == digest
    return Marks(events, billing, before.contracts if same else await _contracts(conn), digest)


async def changed_since(conn: AsyncConnection, before: Marks) -> tuple[set[str], Marks]:
    """The contracts something happened to since ``before``, and the new marks."""
    now = await marks(conn, before)
    changed: set[str] = set()
    if now.events > before.events:
        e, i = IncidentEvent.__table__.c, IncidentRow.__table__.c
        changed |= set((await conn.execute(select(i.contract_id).distinct().select_from(
            IncidentEvent.__table__.join(IncidentRow.__table__, e.incident_id == i.id))
            .where(e.id > before.events))).scalars())
    for table, old, new in zip(_BILLING, before.billing, now.billing, strict=True):
        if new > old:
            t = table.__table__.c
            changed |= set((await conn.execute(select(t.contract_id).distinct().where(t.id > old))).scalars())
    changed |= {cid for cid in now.contracts.keys() | before.contracts.keys()
                if now.contracts.get(cid) != before.contracts.get(cid)}
    return changed, now
