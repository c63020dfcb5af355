"""Raw results older than the retention are rolled up per target, location and
minute and deleted in batches — on SQLite and on the real PostgreSQL: every
deleted probe is counted once in the roll-ups (a minute split across batches
adds up), nothing newer is touched, and a second pass changes nothing."""
import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import and_, case, func, select, text

from app.storage.db import make_engine, sessions, upgrade
from app.storage.retention import Retention, roll_up_batch
from app.storage.tables import ProbeResultRow
from tests.peers.pgschema import fresh_schema
from tests.peers.seed import seed_tcp_targets

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


async def sql(engine, statement):
    async with engine.connect() as conn:
        return (await conn.execute(statement if not isinstance(statement, str) else text(statement))).all()


def results(*columns, before: datetime | None = None, since: datetime | None = None):
    t = ProbeResultRow.__table__.c
    q = select(*columns)
    if before is not None:
        q = q.where(t.started_at < before)
    if since is not None:
        q = q.where(t.started_at >= since)
    return q


async def scenario(engine):
    db = sessions(engine)
    await seed_tcp_targets(db, ["a", "b"], 25, interval=60, timeout=5)
    first = NOW - timedelta(days=35, hours=12)
    async with db() as s:  # every 20 s for the day around the cutoff, some failed, some skipped
        s.add_all(ProbeResultRow(target_id=tid, location="default", started_at=first + timedelta(seconds=20 * i),
                                 ok=i % 5 != 0, skipped=i % 11 == 0, duration_seconds=0.001 * (i % 13),
                                 error=None if i % 5 else "refused")
                  for tid in ("a", "b") for i in range(24 * 180))
        await s.commit()
    cutoff = NOW - timedelta(days=35)
    t = ProbeResultRow.__table__.c
    failed = func.sum(case((and_(t.ok == False, t.skipped == False), 1), else_=0))  # noqa: E712
    before = (await sql(engine, results(func.count(), failed, func.max(t.duration_seconds), before=cutoff)))[0]
    newer = (await sql(engine, results(func.count(), since=cutoff)))[0][0]
    deleted = 0
    async with db() as s:
        while n := await roll_up_batch(s, cutoff, batch=97):  # small batches: minutes split across them
            deleted += n
    again = await Retention(db, timedelta(days=35)).once(NOW)
    rolled = (await sql(engine, "SELECT sum(probes), sum(failures), max(duration_max), count(*) FROM probe_rollups"))[0]
    left = (await sql(engine, results(func.count(), before=cutoff)))[0][0]
    kept = (await sql(engine, "SELECT count(*) FROM probe_results"))[0][0]
    return before, newer, deleted, again, rolled, left, kept


def check(before, newer, deleted, again, rolled, left, kept):
    assert deleted == before[0] > 1000 and left == 0 and again == 0
    assert (rolled[0], rolled[1]) == (before[0], before[1])  # every deleted probe counted once
    assert abs(rolled[2] - before[2]) < 1e-9 and rolled[3] * 3 == before[0]  # three probes a minute: one row
    assert kept == newer  # nothing newer touched


def test_retention_on_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/r.db"
    upgrade(make_engine(url))

    async def go():
        engine = make_engine(url)
        try:
            return await scenario(engine)
        finally:
            await engine.dispose()
    check(*asyncio.run(go()))


@pytest.mark.peers
def test_retention_on_postgresql():
    async def go():
        async with fresh_schema("ret") as engine:
            return await scenario(engine)
    check(*asyncio.run(go()))


@pytest.mark.peers
def test_postgresql_drops_whole_days_past_the_retention():
    """Partitioned by day (migration 0010): a day wholly older than the retention is
    rolled up in one statement and dropped, not deleted row by row."""
    from app.storage import partitions

    async def go():
        async with fresh_schema("part") as engine:
            assert await partitions.partitioned(engine)
            old = (NOW - timedelta(days=38)).date()
            await partitions.ensure_days(engine, old, old)
            db = sessions(engine)
            await seed_tcp_targets(db, ["a"], 25, interval=60, timeout=5)
            start = datetime.combine(old, datetime.min.time(), tzinfo=timezone.utc)
            async with db() as s:
                s.add_all(ProbeResultRow(target_id="a", location="default", started_at=start + timedelta(seconds=30 * i),
                                         ok=i % 4 != 0, duration_seconds=0.002) for i in range(2880))
                await s.commit()
            names = {r[0] for r in await sql(engine, partitions.CHILDREN)}
            assert partitions.name_of(old) in names
            await Retention(db, timedelta(days=35)).once(NOW)
            after = {r[0] for r in await sql(engine, partitions.CHILDREN)}
            rolled = (await sql(engine, "SELECT sum(probes), sum(failures), count(*) FROM probe_rollups"))[0]
            ahead = all(partitions.name_of(NOW.date() + timedelta(days=d)) in after for d in range(4))
            return names - after, rolled, ahead
    dropped, rolled, ahead = asyncio.run(go())
    old = partitions.name_of((NOW - timedelta(days=38)).date())
    assert old in dropped and all(partitions.day_of(n) < (NOW - timedelta(days=35)).date() for n in dropped)
    assert (rolled[0], rolled[1], rolled[2]) == (2880, 720, 1440)  # two probes a minute, one in four failed
    assert ahead  # today and three days ahead exist
