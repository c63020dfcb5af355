"""Faults, measured: results stored / results probed across a database outage
(PostgreSQL unreachable, SQLite locked past its busy timeout, the disk full),
and the probing gap of a graceful worker restart. Real PostgreSQL
(127.0.0.1:5432, database ``test``) behind a loopback proxy this script cuts;
SQLite in a temporary folder (the disk-full case on a small tmpfs, which needs
root); targets are a loopback listener. Prints one line per measure with its goal.

    .venv/bin/python benchmarks/faults.py [--targets 50] [--outage 30] [--only pg|locked|disk|restart]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from app.probing.worker import Worker
from app.storage.db import make_engine, sessions, upgrade
from tests.peers.seed import seed_tcp_targets
from tests.peers.tcpproxy import Proxy

DIRECT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def sql(url, schema, statement):
    engine = make_engine(url, schema)
    async with engine.begin() as conn:
        result = await conn.execute(text(statement))
        rows = result.fetchall() if result.returns_rows else None
    await engine.dispose()
    return rows


def listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    return s


def counted(worker: Worker) -> dict[str, list[float]]:
    """Every probe's (monotonic) time, by target, as the scheduler hands it over."""
    seen: dict[str, list[float]] = {}
    sink = worker.scheduler.sink

    async def counting(job, result):
        seen.setdefault(job.labels["target"], []).append(time.monotonic())
        await sink(job, result)
    worker.scheduler.sink = counting
    return seen


async def through(url: str, schema: str | None, n: int, seconds: float, data: Path, what: str,
                  down: Callable, up: Callable, **worker) -> None:
    """Probe ``n`` targets every second; ``down()`` for ``seconds``; ``up()``; then count."""
    lsn = listener()
    engine = make_engine(url, schema)
    try:
        await seed_tcp_targets(sessions(engine), [f"t{i}" for i in range(n)], lsn.getsockname()[1],
                               interval=1, timeout=0.5)
        w = Worker(sessions(engine), data_dir=data, **worker)
        seen = counted(w)
        await w.start()
        await asyncio.sleep(5)
        await down()
        print(f"{what} for {seconds:.0f} s …", flush=True)
        await asyncio.sleep(seconds)
        await up()
        await asyncio.sleep(5)
        await w.close()
        probed = sum(map(len, seen.values()))
        stored, distinct = (await sql(url, schema, "SELECT count(*), count(DISTINCT (target_id || started_at)) "
                                                   "FROM probe_results"))[0]
        print(f"{what} {seconds:.0f} s, {n} targets at 1 s: stored {stored} of {probed} probed "
              f"({stored / probed:.1%}; goal 100 %), duplicates {stored - distinct} (goal 0), "
              f"dropped {w.spool.dropped} (goal 0)")
    finally:
        await engine.dispose()
        lsn.close()


async def pg_outage(n: int, seconds: float, tmp: Path) -> None:
    schema = f"faults_{os.getpid()}"
    await sql(DIRECT, None, f'CREATE SCHEMA "{schema}"')
    proxy = Proxy()
    await proxy.restore()
    try:
        await asyncio.to_thread(upgrade, make_engine(DIRECT, schema))
        await through(f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test", schema, n, seconds, tmp / "data",
                      "PostgreSQL unreachable", proxy.cut, proxy.restore)
    finally:
        await proxy.cut()
        await sql(DIRECT, None, f'DROP SCHEMA "{schema}" CASCADE')


async def sqlite_locked(n: int, seconds: float, tmp: Path) -> None:
    path = tmp / "locked.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, make_engine(url))
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def lock():
        locker.execute("BEGIN EXCLUSIVE")

    async def unlock():
        locker.execute("ROLLBACK")
    await through(url, None, n, seconds, tmp / "data-locked", "SQLite locked (past its 5 s busy timeout)",
                  lock, unlock)
    locker.close()


async def disk_full(n: int, seconds: float, tmp: Path) -> None:
    disk = tmp / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)]
    if (await asyncio.to_thread(subprocess.run, mount, capture_output=True)).returncode:
        print("disk full: skipped (mounting a tmpfs needs root)")
        return
    filler = disk / "filler"

    async def fill():
        with filler.open("wb", buffering=0) as f:
            try:
                for _ in range(17 * 1024):
                    f.write(b"\0" * 1024)
            except OSError:
                pass

    async def free():
        filler.unlink()
    try:
        url = f"sqlite+aiosqlite:///{disk / 'full.db'}"
        await asyncio.to_thread(upgrade, make_engine(url))
        await through(url, None, n, seconds, disk / "data", "disk full (database and spool on it)", fill, free)
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", "--lazy", str(disk)], capture_output=True)


async def restart_gap(n: int, tmp: Path) -> None:
    """A graceful restart (same worker id) on PostgreSQL: the longest time any target
    went unprobed across it."""
    schema = f"restart_{os.getpid()}"
    await sql(DIRECT, None, f'CREATE SCHEMA "{schema}"')
    lsn = listener()
    engine = make_engine(DIRECT, schema)
    try:
        await asyncio.to_thread(upgrade, make_engine(DIRECT, schema))
        interval = 5
        await seed_tcp_targets(sessions(engine), [f"t{i}" for i in range(n)], lsn.getsockname()[1],
                               interval=interval, timeout=0.5)
        seen: dict[str, list[float]] = {}
        for _ in range(2):
            w = Worker(sessions(engine), lease_seconds=30, name="bench", data_dir=tmp / "data-restart")
            mine = counted(w)
            await w.start()
            await asyncio.sleep(3 * interval)
            await w.close()
            for k, v in mine.items():
                seen.setdefault(k, []).extend(v)
        gap = max(b - a for times in seen.values() for a, b in pairwise(times))
        print(f"graceful restart, {n} targets at {interval} s: longest unprobed {gap:.1f} s "
              f"(goal ≤ interval + 2 s = {interval + 2} s)")
    finally:
        await engine.dispose()
        lsn.close()
        await sql(DIRECT, None, f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--outage", type=float, default=30.0)
    ap.add_argument("--only", choices=["pg", "locked", "disk", "restart"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        measures = {"pg": lambda: pg_outage(args.targets, args.outage, tmp),
                    "locked": lambda: sqlite_locked(args.targets, max(args.outage, 40.0), tmp),
                    "disk": lambda: disk_full(args.targets, args.outage, tmp),
                    "restart": lambda: restart_gap(args.targets, tmp)}
        for name, measure in measures.items():
            if args.only in (None, name):
                asyncio.run(measure())


if __name__ == "__main__":
    main()
