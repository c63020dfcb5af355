"""Faults, measured: results stored / results probed across a database outage,
and the probing gap of a graceful worker restart. Real PostgreSQL (127.0.0.1:5432,
database ``test``) behind a loopback proxy this script cuts; targets are a
loopback listener. Prints one line per measure with its goal.

    .venv/bin/python benchmarks/faults.py [--targets 50] [--outage 30]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from app.runtime import Worker  # noqa: E402
from app.storage.db import make_engine, sessions, upgrade  # noqa: E402
from tests.peers.seed import seed_tcp_targets  # noqa: E402
from tests.peers.tcpproxy import Proxy  # noqa: E402

DIRECT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def sql(url, schema, statement):
    engine = make_engine(url, schema)
    async with engine.begin() as conn:
        result = await conn.execute(text(statement))
        rows = result.fetchall() if result.returns_rows else None
    await engine.dispose()
    return rows


async def outage(n: int, seconds: float, tmp: Path) -> None:
    schema = f"faults_{os.getpid()}"
    await sql(DIRECT, None, f'CREATE SCHEMA "{schema}"')
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    proxy = Proxy()
    await proxy.restore()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test"
    engine = make_engine(url, schema)
    try:
        await asyncio.to_thread(upgrade, make_engine(DIRECT, schema))
        await seed_tcp_targets(sessions(engine), [f"t{i}" for i in range(n)], listener.getsockname()[1],
                               interval=1, timeout=0.5)
        worker = Worker(sessions(engine), data_dir=tmp)
        probed = 0
        sink = worker.sink

        async def counting(job, result):
            nonlocal probed
            probed += 1
            await sink(job, result)
        worker.scheduler.sink = counting
        await worker.start()
        await asyncio.sleep(5)
        await proxy.cut()
        print(f"database cut for {seconds:.0f} s …", flush=True)
        await asyncio.sleep(seconds)
        await proxy.restore()
        await asyncio.sleep(5)
        await worker.close()
        deadline = time.monotonic() + 30
        while worker.queued() and time.monotonic() < deadline:  # close() wrote or spooled the rest
            await asyncio.sleep(0.2)
        stored = (await sql(DIRECT, schema, "SELECT count(*) FROM probe_results"))[0][0]
        distinct = (await sql(DIRECT, schema, "SELECT count(DISTINCT (target_id, started_at)) FROM probe_results"))[0][0]
        print(f"database outage {seconds:.0f} s, {n} targets at 1 s: stored {stored} of {probed} probed "
              f"({stored / probed:.1%}; goal 100 %), duplicates {stored - distinct} (goal 0)")
    finally:
        await engine.dispose()
        await proxy.cut()
        listener.close()
        await sql(DIRECT, None, f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--outage", type=float, default=30.0)
    args = ap.parse_args()
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(outage(args.targets, args.outage, Path(tmp)))
    print("restart gap: measured by tests/test_workers.py::test_a_graceful_restart_probes_every_target_within_"
          "an_interval_and_2_s (goal ≤ interval + 2 s)")


if __name__ == "__main__":
    main()
