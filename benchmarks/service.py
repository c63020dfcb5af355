"""Service throughput on the real PostgreSQL (127.0.0.1:5432, database test, a
schema of its own):

1. probe results stored: rows/s through the service's batch writer (target ≥ 20,000/s);
2. ``GET /v1/contracts/{id}/credits`` with 1,000 contracts and a month of incidents,
   req/s and p99, beside a bare FastAPI endpoint in the same server and run
   (goals, issue #16: ≥ 60 % of the bare req/s, p99 < 50 ms); and the same month
   evaluated on every request (``?at=``), which no kept report answers.

    .venv/bin/python benchmarks/service.py [--seconds 10] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth.service import create_token
from app.incidents.service import open_incident, record_results
from app.storage.db import make_engine, sessions, upgrade
from app.storage.tables import ContractRow, Customer, IncidentEvent, ProbeResultRow
from benchmarks.probes import free_port, wait_port

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
UTC = timezone.utc


async def ddl(sql: str) -> None:
    engine = make_engine(PG)
    async with engine.begin() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def rows_per_second(schema: str, n: int = 100_000, batch: int = 5000) -> float:
    engine = make_engine(PG, schema)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [ProbeResultRow(target_id=f"t{i % 1000}", location="a", started_at=start + timedelta(seconds=i),
                           ok=i % 17 != 0, error=None if i % 17 else "refused", duration_seconds=0.001,
                           phases={"connect": 0.001}, detail={}) for i in range(n)]
    async with sessions(engine)() as db:
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            await record_results(db, rows[i:i + batch])
        took = time.perf_counter() - t0
    await engine.dispose()
    return n / took


async def seed(schema: str) -> str:
    engine = make_engine(PG, schema)
    body = {"template": "xiamen-mail", "timezone": "Asia/Shanghai", "month_fee": "300.00", "billing": "annual",
            "payments": [{"paid_at": "2025-12-20T10:00:00+08:00", "amount": "3600.00", "months": "2026-01/2026-12"}],
            "customer": "bench"}
    rng = random.Random(7)
    async with sessions(engine)() as db:
        db.add(Customer(id="bench", name="bench"))
        await db.flush()
        for c in range(1000):
            db.add(ContractRow(id=f"c{c}", customer_id="bench", template="xiamen-mail",
                               body={**body, "id": f"c{c}"} | {k: None for k in ("terminated", "credit_policy")}))
        await db.flush()
        for c in range(1000):
            for k in range(10):
                s = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 29))
                row, evs = await open_incident(db, incident_id=f"c{c}-i{k}", contract_id=f"c{c}",
                                               category="mail_send_receive", started_at=s, reported_at=s,
                                               actor="bench")
                db.add(IncidentEvent(incident_id=row.id, seq=2, kind="resolved",
                                     at=s + timedelta(minutes=rng.randint(5, 600)), actor="bench"))
            if c % 100 == 99:
                await db.commit()
        token = await create_token(db, "admin")
    await engine.dispose()
    return token


async def load(url: str, token: str, seconds: float, concurrency: int, paths) -> tuple[float, float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def user(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            r = await client.get(next(paths))
            latencies.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text[:200]

    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        t0 = time.monotonic()
        await asyncio.gather(*(user(c) for _ in range(concurrency)))
        took = time.monotonic() - t0
    latencies.sort()
    return len(latencies) / took, latencies[int(0.99 * (len(latencies) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    schema = f"bench_{os.getpid()}"
    asyncio.run(ddl(f'CREATE SCHEMA "{schema}"'))
    server = None
    try:
        upgrade(make_engine(PG, schema))
        rate = asyncio.run(rows_per_second(schema))
        print(f"probe results stored in PostgreSQL: {rate:,.0f} rows/s (target >= 20,000/s; ratio {rate / 20000:.2f}x)")
        token = asyncio.run(seed(schema))
        port = free_port()
        env = {**os.environ, "SLAWATCH_DATABASE_URL": PG, "SLAWATCH_DATABASE_SCHEMA": schema}
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "benchmarks._service_app:app", "--port", str(port),
                                   "--log-level", "warning", "--loop", "auto"], cwd=ROOT, env=env)
        wait_port(port)
        url = f"http://127.0.0.1:{port}"
        credits = iter(f"/v1/contracts/c{random.randrange(1000)}/credits?period=2026-10" for _ in iter(int, 1))
        bare = iter("/bare" for _ in iter(int, 1))
        # warm-up: every contract's closed month asked once, so the measured window is what a customer
        # asking again gets (a month not kept yet costs what the ?at= line below measures)
        every = itertools.cycle([f"/v1/contracts/c{c}/credits?period=2026-10" for c in range(1000)])
        asyncio.run(load(url, token, 8, args.concurrency, every))  # ≥ 1,000 requests: each month at least once
        b_rps, b_p99 = asyncio.run(load(url, token, args.seconds, args.concurrency, bare))
        c_rps, c_p99 = asyncio.run(load(url, token, args.seconds, args.concurrency, credits))
        # ?at= is never answered from a kept report: every request evaluates the month
        fresh = iter(f"/v1/contracts/c{random.randrange(1000)}/credits?period=2026-10&at=2026-11-15T00:00:00Z"
                     for _ in iter(int, 1))
        f_rps, f_p99 = asyncio.run(load(url, token, args.seconds, args.concurrency, fresh))
        print(f"bare FastAPI endpoint: {b_rps:,.0f} req/s, p99 {b_p99 * 1000:.1f} ms")
        print(f"GET /v1/contracts/{{id}}/credits (1,000 contracts, 10 incidents each, a closed month): "
              f"{c_rps:,.0f} req/s, p99 {c_p99 * 1000:.1f} ms; {c_rps / b_rps:.2f}x of bare (goal >= 0.6x, "
              f"p99 < 50 ms)")
        print(f"  the same, evaluated on every request (?at=): {f_rps:,.0f} req/s, p99 {f_p99 * 1000:.1f} ms; "
              f"{f_rps / b_rps:.2f}x of bare")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        asyncio.run(ddl(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
