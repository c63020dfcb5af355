"""Target leases on PostgreSQL: which worker probes which target. A target is
held by its ``lease_owner`` for as long as that worker's heartbeat row
(``workers.seen_until``) is current: renewing every lease is one row, however
many targets a worker holds (renewing each target row every few seconds cost
PostgreSQL a tuple write and a row lock per target). Free or orphaned targets
(no owner, or an owner whose heartbeat lapsed) are taken with ``FOR UPDATE SKIP
LOCKED`` up to a fair share among the live workers; without an owner,
``lease_until`` is the instant before which nobody takes it (a hand-over waits
one interval, so the next owner never probes early). Released — and the
worker's row removed — on a graceful stop, so the others take over at once."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.tables import TargetRow, WorkerRow

_t, _w = TargetRow.__table__.c, WorkerRow.__table__.c


async def claim(db: AsyncSession, name: str, lease_seconds: float, now: datetime,
                known: set[str] = frozenset()) -> tuple[set[str], list[TargetRow]]:
    """Renew ``name``'s heartbeat and take free or orphaned targets, up to a fair
    share; committed. Returns the ids it holds now and the rows of those not in
    ``known``. A few set-based statements whatever the number of targets."""
    until = now + timedelta(seconds=lease_seconds)
    me = await db.get(WorkerRow, name)
    if me is None:
        me = WorkerRow(name=name, seen_until=until)
    me.seen_until = until
    db.add(me)
    conn = await db.connection()
    total = (await conn.execute(select(func.count()).where(_t.enabled == True))).scalar()  # noqa: E712
    others = (await conn.execute(select(func.count()).where(_w.seen_until > now, _w.name != name))).scalar()
    share = math.ceil(total / (others + 1)) if total else 0
    mine = list((await conn.execute(select(_t.id, _t.interval).where(_t.lease_owner == name, _t.enabled == True)  # noqa: E712
                                     .order_by(_t.id))).all())
    keep, surplus = mine[:share], mine[share:]
    # over the fair share (another worker joined): hand the surplus on, free only one
    # interval after now, so the next owner cannot probe it early (one statement per interval)
    for interval in {r.interval for r in surplus}:
        await conn.execute(update(TargetRow).where(_t.id.in_([r.id for r in surplus if r.interval == interval]),
                                                   _t.lease_owner == name)
                           .values(lease_owner=None, lease_until=now + timedelta(seconds=interval)))
    live = select(_w.name).where(_w.name == _t.lease_owner, _w.seen_until > now).exists()
    free = select(_t.id).where(_t.enabled == True, or_(_t.lease_owner == None, and_(_t.lease_owner != name, ~live)),  # noqa: E711,E712
                               or_(_t.lease_until == None, _t.lease_until <= now))  # noqa: E711
    free = free.order_by(_t.id).limit(max(share - len(keep), 0)).with_for_update(skip_locked=True)
    taken = set((await conn.execute(update(TargetRow).where(_t.id.in_(free.scalar_subquery()))
                                    .values(lease_owner=name, lease_until=None).returning(_t.id))).scalars())
    await db.commit()
    held = {r.id for r in keep} | taken
    new = sorted(held - set(known))
    rows = []
    for i in range(0, len(new), 5000):  # bounded statements
        rows += list((await db.exec(select(TargetRow).where(TargetRow.id.in_(new[i:i + 5000])))).all())
    return held, rows


async def release(db: AsyncSession, name: str) -> None:
    """Give ``name``'s leases back and leave the fair share; committed."""
    await db.exec(update(TargetRow).where(TargetRow.lease_owner == name).values(lease_owner=None, lease_until=None))
    await db.exec(delete(WorkerRow).where(WorkerRow.name == name))
    await db.commit()
