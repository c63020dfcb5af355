"""Results survive a database outage: the real PostgreSQL behind a loopback TCP
proxy the test cuts and restores; SQLite locked past its busy timeout; SQLite
and the spool folder on a full disk (a small tmpfs). What the worker could not write is kept (in
memory, then in its spool file), written once and in order when the database
is back, and detection opens the outage that happened meanwhile with its true
``started_at``. A shutdown during the outage leaves the rows in the file for
the next start."""
import asyncio
import os
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from app.incidents.service import probe_incident_id
from app.probing.worker import DatabaseDown, Worker
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


def mx_job(row) -> Job:
    return Job("mx/default", "tcp", TARGETS["tcp"].model_validate(row.config), 60, 5, "default", {"target": "mx"})


async def five_good_rounds(engine, data_dir, memory_rows: int):
    """A worker for one TCP target "mx" with five good rounds written; the spool keeps
    ``memory_rows`` in memory (few: an outage reaches the spool file too)."""
    (row,) = await seed_tcp_targets(sessions(engine), ["mx"], 25, interval=60, timeout=5)
    worker = Worker(sessions(engine), data_dir=data_dir)
    worker.spool.memory_rows = memory_rows
    worker.add(row)
    job = mx_job(row)
    t0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    for i in range(5):
        await worker.sink(job, result(t0 + timedelta(minutes=i), True))
    await worker.flush()
    return worker, job, t0


async def outage_rounds(worker, job, t0, first: int, last: int) -> None:
    """Rounds ``first``..``last - 1`` while the database is down: minutes 5-11 fail, 12 on are ok."""
    for i in range(first, last):
        await worker.sink(job, result(t0 + timedelta(minutes=i), not 5 <= i < 12))
        with pytest.raises(DatabaseDown):
            await worker.flush()


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
            worker, job, t0 = await five_good_rounds(engine, tmp_path / "data", memory_rows=4)
            await proxy.cut()  # the database is gone; the monitored server fails meanwhile
            await outage_rounds(worker, job, t0, 5, 15)
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


def sqlite_outage(tmp_path, db_path, data_dir, down, up, busy_seconds=5.0, memory_rows=4):
    """Five good rounds, ten while ``down()`` holds (an outage of the monitored
    server among them), then ``up()``: what is stored, once each, and the incident."""
    url = f"sqlite+aiosqlite:///{db_path}"
    upgrade(make_engine(url))

    async def go():
        engine = make_engine(url, busy_seconds=busy_seconds)
        try:
            worker, job, t0 = await five_good_rounds(engine, data_dir, memory_rows)
            down()
            try:
                await outage_rounds(worker, job, t0, 5, 15)
                spooled = worker.spool.path.read_text() if worker.spool.path.exists() else ""
                kept = {"memory": worker.queued(), "overflow": len(worker.spool.overflow),
                        "file": spooled.count("\n"), "half_lines": 0 if spooled.endswith("\n") or not spooled else 1}
            finally:
                up()
            await worker.flush()
            return worker, kept, t0
        finally:
            await engine.dispose()
    worker, kept, t0 = asyncio.run(go())
    db = sqlite3.connect(db_path)
    try:
        stored, distinct = db.execute("SELECT count(*), count(DISTINCT started_at) FROM probe_results").fetchone()
        opened = db.execute("SELECT count(*) FROM incidents WHERE id = ?",
                            (probe_incident_id("mx", t0 + timedelta(minutes=5)),)).fetchone()[0]
    finally:
        db.close()  # the tmpfs can be unmounted
    return worker, kept, (stored, distinct, opened)


def test_sqlite_locked_past_its_busy_timeout_loses_no_result(tmp_path):
    """Another process holds SQLite's write lock past the busy timeout (a backup,
    a long admin transaction): every result is kept and written once after."""
    db_path = tmp_path / "w.db"
    locker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    worker, kept, (stored, distinct, opened) = sqlite_outage(
        tmp_path, db_path, tmp_path / "data", down=lambda: locker.execute("BEGIN EXCLUSIVE"),
        up=lambda: locker.execute("ROLLBACK"), busy_seconds=0.2)
    locker.close()
    assert kept["memory"] + kept["file"] == 10 and kept["file"] > 0  # some in memory, the rest in the spool file
    assert (stored, distinct, opened) == (15, 15, 1)
    assert worker.queued() == 0 and not worker.spool.path.exists() and worker.spool.dropped == 0


def test_a_full_disk_loses_no_result(tmp_path):
    """The database file and the spool folder on one 1 MB tmpfs, filled up: the
    database write fails, the spool file cannot take the rows either (they stay in
    memory, and no half-written line is left in it); space freed, all are stored once."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    filler = disk / "filler"

    def fill():
        with filler.open("wb", buffering=0) as f:
            try:
                for _ in range(2048):  # 1 MB of 512-byte writes at most: the disk is smaller
                    f.write(b"x" * 512)
            except OSError:
                pass

    try:
        worker, kept, (stored, distinct, opened) = sqlite_outage(
            tmp_path, disk / "w.db", disk / "data", down=fill, up=filler.unlink)
        # held in memory while the disk was full: the spool file could not take them, and holds no half line
        assert kept["memory"] == 10 and kept["overflow"] > 0 and kept["file"] == 0 and kept["half_lines"] == 0
        assert (stored, distinct, opened) == (15, 15, 1)
        assert worker.queued() == 0 and worker.spool.dropped == 0
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], capture_output=True)
