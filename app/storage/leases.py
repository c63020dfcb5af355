"""Target leases on PostgreSQL: which worker probes which target. Claimed with
``FOR UPDATE SKIP LOCKED`` up to a fair share among the live workers (those
whose heartbeat row is current), renewed well before expiry; released — and the
worker's row removed — on a graceful stop, so the others take over at once."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.tables import TargetRow, WorkerRow


async def claim(db: AsyncSession, name: str, lease_seconds: float, now: datetime,
                known: set[str] = frozenset()) -> tuple[set[str], list[TargetRow]]:
    """Renew ``name``'s leases and take free or expired ones, up to a fair share;
    committed. Returns the ids it holds now and the rows of those not in ``known``.
    A few set-based statements whatever the number of targets: a renewal never
    loads or writes row by row (at 10,000 targets that stalled the probes)."""
    until = now + timedelta(seconds=lease_seconds)
    me = await db.get(WorkerRow, name)
    if me is None:
        me = WorkerRow(name=name, seen_until=until)
    me.seen_until = until
    db.add(me)
    t = TargetRow.__table__.c
    conn = await db.connection()
    total = (await conn.execute(select(func.count()).where(t.enabled == True))).scalar()  # noqa: E712
    others = (await db.exec(select(func.count()).select_from(WorkerRow)
                            .where(WorkerRow.seen_until > now, WorkerRow.name != name))).one()
    share = math.ceil(total / (others + 1)) if total else 0
    mine = list((await conn.execute(select(t.id, t.interval).where(t.lease_owner == name, t.lease_until > now)
                                     .order_by(t.id).with_for_update(skip_locked=True))).all())
    keep, surplus = mine[:share], mine[share:]
    # over the fair share (another worker joined): hand the surplus on, free only one
    # interval after now, so the next owner cannot probe it early (one statement per interval)
    for interval in {r.interval for r in surplus}:
        await conn.execute(update(TargetRow).where(t.id.in_([r.id for r in surplus if r.interval == interval]))
                           .values(lease_owner=None, lease_until=now + timedelta(seconds=interval)))
    if keep:  # the kept ones are a prefix of mine by id: renewed by predicate, not by a list
        await conn.execute(update(TargetRow).where(t.lease_owner == name, t.lease_until > now, t.id <= keep[-1].id)
                           .values(lease_until=until))
    free = select(t.id).where(t.enabled == True, or_(t.lease_until == None, t.lease_until <= now))  # noqa: E711,E712
    free = free.order_by(t.id).limit(max(share - len(keep), 0)).with_for_update(skip_locked=True)
    taken = set((await conn.execute(update(TargetRow).where(t.id.in_(free.scalar_subquery()))
                                    .values(lease_owner=name, lease_until=until).returning(t.id))).scalars())
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
