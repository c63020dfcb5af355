"""Results survive a database outage: the real PostgreSQL behind a loopback TCP
proxy the test cuts and restores. What the worker could not write is kept (in
memory, then in its spool file), written once and in order when the database
is back, and detection opens the outage that happened meanwhile with its true
``started_at``. A shutdown during the outage leaves the rows in the file for
the next start."""
import asyncio
import os
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from app.incidents.service import probe_incident_id
from app.runtime import Worker
from app.storage.db import make_engine, sessions, upgrade
from probes import TARGETS
from probes.result import ProbeResult
from probes.scheduler import Job
from tests.peers.seed import seed_tcp_targets
from tests.peers.tcpproxy import Proxy

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

PG = "127.0.0.1", 5432
UTC = timezone.utc


def result(at: datetime, ok: bool) -> ProbeResult:
    return ProbeResult(ok, at, 0.01, {"connect": 0.01}, None if ok else "refused", {})


async def count(url, schema, sql):
    engine = make_engine(url, schema)
    async with engine.connect() as conn:
        n = (await conn.execute(text(sql))).scalar()
    await engine.dispose()
    return n


def test_a_database_outage_loses_no_result(tmp_path):
    schema = f"dur_{os.getpid()}"
    direct = f"postgresql+asyncpg://postgres@{PG[0]}:{PG[1]}/test"

    async def go():
        engine = make_engine(direct)
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await engine.dispose()
        await asyncio.to_thread(upgrade, make_engine(direct, schema))
        proxy = Proxy()
        await proxy.restore()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test"
        engine = make_engine(url, schema)
        try:
            (row,) = await seed_tcp_targets(sessions(engine), ["mx"], 25, interval=60, timeout=5)
            worker = Worker(sessions(engine), data_dir=tmp_path / "data")
            worker.spool.memory_rows = 4  # so the outage reaches the spool file too
            worker.add(row)
            job = Job("mx/default", "tcp", TARGETS["tcp"].model_validate(row.config), 60, 5, "default",
                      {"target": "mx"})
            t0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
            for i in range(5):
                await worker.sink(job, result(t0 + timedelta(minutes=i), True))
            await worker.flush()
            await proxy.cut()  # the database is gone; the monitored server fails meanwhile
            for i in range(5, 15):
                await worker.sink(job, result(t0 + timedelta(minutes=i), i >= 12))
                try:
                    await worker.flush()
                except Exception as exc:  # noqa: BLE001 - DatabaseDown, the rows kept
                    assert type(exc).__name__ == "DatabaseDown"
            assert worker.spool.path.exists()  # part of it in the file
            kept = worker.queued() + sum(1 for _ in worker.spool.path.open())
            assert kept == 10
            await proxy.restore()
            await worker.flush()  # the first try after the outage goes through
            assert not worker.spool.path.exists() and worker.queued() == 0
            stored = await count(direct, schema, "SELECT count(*) FROM probe_results")
            distinct = await count(direct, schema, "SELECT count(DISTINCT started_at) FROM probe_results")
            opened = await count(direct, schema, f"SELECT count(*) FROM incidents WHERE id = "
                                                 f"'{probe_incident_id('mx', t0 + timedelta(minutes=5))}'")
            # shut down during another outage: the rows go to the file, and the next worker writes them
            await proxy.cut()
            for i in range(15, 18):
                await worker.sink(job, result(t0 + timedelta(minutes=i), True))
            await worker.close()
            assert worker.spool.path.exists()
            await proxy.restore()
            again = Worker(sessions(engine), data_dir=tmp_path / "data")
            await again.flush()
            after = await count(direct, schema, "SELECT count(*) FROM probe_results")
            return stored, distinct, opened, after
        finally:
            await engine.dispose()
            await proxy.cut()
            e = make_engine(direct)
            async with e.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await e.dispose()
    stored, distinct, opened, after = asyncio.run(go())
    assert (stored, distinct) == (15, 15)  # every result once
    assert opened == 1  # the outage during the blip, opened at its first failed round
    assert after == 18
