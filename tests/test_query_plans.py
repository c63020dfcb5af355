"""The hot path's queries read by index, never by scanning stored history: the
detector's read of a target's recent results, the newest probe incident of a
target, and retention's oldest results — checked with the database's own
EXPLAIN on SQLite and PostgreSQL, on a table big enough that a planner would
rather scan if it had no index."""
import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from app.storage.db import make_engine, upgrade
from tests.peers.pgschema import fresh_schema

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
T = datetime(2026, 11, 30, tzinfo=timezone.utc)
HOT = {  # the statements the worker, detector and retention run, as they run them
    "detector: a target's recent results":
        "SELECT * FROM probe_results WHERE target_id = 't7' AND started_at >= :since ORDER BY started_at",
    "detector: the newest probe incident of a target":
        "SELECT * FROM incidents WHERE target_id = 't7' AND source = 'probe' ORDER BY started_at DESC LIMIT 1",
    "retention: the oldest results":
        "SELECT id FROM probe_results WHERE started_at < :since ORDER BY started_at LIMIT 5000",
}


async def plans(engine) -> dict[str, str]:
    pg = engine.dialect.name == "postgresql"
    since = T - timedelta(hours=1)
    async with engine.begin() as conn:
        rows = [{"t": f"t{i % 50}", "at": T - timedelta(seconds=30 * i)} for i in range(20000)]
        await conn.execute(text("INSERT INTO probe_results (target_id, location, started_at, ok, duration_seconds, "
                                "phases, detail, rejected, skipped) VALUES (:t, 'default', :at, true, 0.001, "
                                "'{}', '{}', false, false)"), rows)
        await conn.execute(text("INSERT INTO customers (id, name, created_at) VALUES ('a', 'a', :at)"), {"at": T})
        await conn.execute(text("INSERT INTO contracts (id, customer_id, template, body, created_at, version) "
                                "VALUES ('c', 'a', 'ningbo-colo', '{}', :at, 1)"), {"at": T})
        await conn.execute(text("INSERT INTO incidents (id, contract_id, target_id, category, source, started_at, "
                                "reported_at, created_at) VALUES (:id, 'c', :t, 'server_fault', 'probe', :at, :at, "
                                ":at)"), [{"id": f"i{i}", "t": f"t{i % 50}", "at": T - timedelta(hours=i)}
                                          for i in range(5000)])
        if pg:
            await conn.execute(text("ANALYZE"))
    out = {}
    async with engine.connect() as conn:
        for name, sql in HOT.items():
            explain = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
            stmt = text(explain + sql).bindparams(since=since) if ":since" in sql else text(explain + sql)
            out[name] = " | ".join(str(r[-1]) for r in (await conn.execute(stmt)).all())
    return out


def scans(plan: str) -> bool:
    """A read proportional to the table: PostgreSQL's Seq Scan of anything but an
    (almost) empty partition (a day ahead, today's first rows: the planner rightly
    reads those whole); SQLite's SCAN (of the table or a whole index) or a sort of
    everything it read (TEMP B-TREE)."""
    parts = [p.strip() for p in plan.split("|")]
    seq = [float(m.group(1)) for p in parts if "Seq Scan" in p and (m := re.search(r"cost=[0-9.]+\.\.([0-9.]+)", p))]
    return any(cost > 20 for cost in seq) or any(p.startswith("SCAN ") or "TEMP B-TREE" in p for p in parts)


def test_hot_queries_use_indexes_on_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/q.db"
    upgrade(make_engine(url))

    async def go():
        engine = make_engine(url)
        try:
            return await plans(engine)
        finally:
            await engine.dispose()
    found = asyncio.run(go())
    assert {k: v for k, v in found.items() if scans(v)} == {}, found


@pytest.mark.peers
def test_hot_queries_use_indexes_on_postgresql():
    async def go():
        async with fresh_schema("plans") as engine:
            return await plans(engine)
    found = asyncio.run(go())
    assert {k: v for k, v in found.items() if scans(v)} == {}, found
