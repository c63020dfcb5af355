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


async def claim(db: AsyncSession, name: str, lease_seconds: float, now: datetime) -> list[TargetRow]:
    """Renew ``name``'s leases and take free or expired ones, up to a fair share;
    committed. Returns the targets it holds now."""
    until = now + timedelta(seconds=lease_seconds)
    me = await db.get(WorkerRow, name)
    if me is None:
        me = WorkerRow(name=name, seen_until=until)
    me.seen_until = until
    db.add(me)
    total = (await db.exec(select(func.count()).select_from(TargetRow)
                           .where(TargetRow.enabled == True))).one()  # noqa: E712
    others = (await db.exec(select(func.count()).select_from(WorkerRow)
                            .where(WorkerRow.seen_until > now, WorkerRow.name != name))).one()
    share = math.ceil(total / (others + 1)) if total else 0
    mine = list((await db.exec(select(TargetRow).where(TargetRow.lease_owner == name, TargetRow.lease_until > now)
                               .with_for_update(skip_locked=True))).all())
    free = list((await db.exec(select(TargetRow).where(
        TargetRow.enabled == True,  # noqa: E712
        or_(TargetRow.lease_until == None, TargetRow.lease_until <= now))  # noqa: E711
        .order_by(TargetRow.id).limit(max(share - len(mine), 0))
        .with_for_update(skip_locked=True))).all())
    # over the fair share (another worker joined): hand the surplus on, free
    # only one interval after now, so the next owner cannot probe it early
    for row in mine[share:]:
        row.lease_owner, row.lease_until = None, now + timedelta(seconds=row.interval)
        db.add(row)
    held = mine[:share] + free
    for row in held:
        row.lease_owner, row.lease_until = name, until
        db.add(row)
    await db.commit()
    return held


async def release(db: AsyncSession, name: str) -> None:
    """Give ``name``'s leases back and leave the fair share; committed."""
    await db.exec(update(TargetRow).where(TargetRow.lease_owner == name).values(lease_owner=None, lease_until=None))
    await db.exec(delete(WorkerRow).where(WorkerRow.name == name))
    await db.commit()
