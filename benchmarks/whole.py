"""The whole service path, side by side with blackbox_exporter: ``slawatch run`` (its
scheduler, probes, result writes, detection, SLA state, metrics and ticket rounds)
probing N loopback TCP targets at a fixed rate, against blackbox_exporter driven
through ``/probe`` at the same rate. CPU from /proc for the slawatch process plus,
on PostgreSQL, every postgres process (the database's share of the work).
Prints CPU per probe, the ratio, and the scheduler's drift p99 for each run:

    .venv/bin/python benchmarks/whole.py [--targets 2000] [--rate 100] [--seconds 60]
        [--db sqlite|postgresql|both] [--history-hours 0,24] [--contracts 1] [--protocol tcp|http] [--profile FILE]
        [--workers 1]  # PostgreSQL: `slawatch worker`s share the targets (the 50,000-target run)

History: each target gets that many hours of stored results before the start
(one per interval), so the cost per probe with a day of history can be read
beside a fresh database. Contracts: the targets are spread over that many
contracts, each with an open incident (the SLA state the rounds evaluate).
Goals (issue #16): ≤ 0.6× blackbox per probe; history within 1.1× of fresh.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx
from sqlalchemy import func, select, text

from app.incidents.service import open_incident
from app.storage.db import make_engine, sessions, upgrade
from app.storage.partitions import ensure_days
from app.storage.tables import ContractRow, Customer, ProbeResultRow, TargetRow
from benchmarks._cpu import TICK, cpu_seconds, rss_mb
from benchmarks.probes import free_port, measure_blackbox, peers, wait_port

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
_COLUMNS = "target_id, location, started_at, ok, error, duration_seconds, phases, detail, rejected, skipped"
HISTORY = {  # one healthy result per target per interval, the newest one interval ago, oldest first
    "sqlite": f"""
        WITH RECURSIVE r(k) AS (SELECT :rounds UNION ALL SELECT k - 1 FROM r WHERE k > 1),
                       t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i < :n - 1)
        INSERT INTO probe_results ({_COLUMNS})
        SELECT 't' || i, 'default',
               strftime('%Y-%m-%d %H:%M:%S', CAST(:now - k * :step AS INTEGER), 'unixepoch') || '.000000',
               1, NULL, 0.0005, '{{"connect": 0.0005}}', '{{}}', 0, 0 FROM r, t""",
    "postgresql": f"""
        INSERT INTO probe_results ({_COLUMNS})
        SELECT 't' || i, 'default', to_timestamp(floor(:now - k * :step)), true, NULL, 0.0005,
               '{{"connect": 0.0005}}'::json, '{{}}'::json, false, false
        FROM generate_series(:rounds, 1, -1) k, generate_series(0, :n - 1) i""",
}


def postgres_cpu() -> float:
    """CPU seconds of every postgres process (the database's share; others are idle here)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if "(postgres)" in stat:
                fields = stat.rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def target_config(protocol: str, port: int, i: int) -> dict:
    return ({"url": f"http://127.0.0.1:{port}/t{i}"} if protocol == "http" else {"host": "127.0.0.1", "port": port})


async def seed(url: str, schema: str | None, n: int, interval: float, port: int, hours: float,
               contracts: int, protocol: str = "tcp") -> None:
    engine = make_engine(url, schema)
    db = sessions(engine)
    now = datetime.now(timezone.utc)
    body = {"template": "ningbo-colo", "timezone": "Asia/Shanghai", "month_fee": "800.00", "billing": "monthly",
            "payments": [], "customer": "bench"}
    async with db() as s:
        s.add(Customer(id="bench", name="bench"))
        await s.flush()
        s.add_all(ContractRow(id=f"c{c}", customer_id="bench", template="ningbo-colo", body={**body, "id": f"c{c}"})
                  for c in range(contracts))
        await s.flush()
        s.add_all(TargetRow(id=f"t{i}", contract_id=f"c{i % contracts}", protocol=protocol, category="server_fault",
                            interval=interval, timeout=min(5.0, interval),
                            config=target_config(protocol, port, i)) for i in range(n))
        for c in range(contracts):
            t = now - timedelta(minutes=10 + c % 50)
            await open_incident(s, incident_id=f"c{c}-0", contract_id=f"c{c}", category="server_fault",
                                started_at=t, reported_at=t, actor="bench")
        await s.commit()
    rounds = int(hours * 3600 / interval)
    if rounds:  # generated by the database itself: 30 days of 1,000 targets are 43 million rows
        if url.startswith("postgresql"):  # the days a deployment that ran this long has
            await ensure_days(engine, (now - timedelta(hours=hours)).date(), now.date() + timedelta(days=3))
        async with engine.begin() as conn:
            await conn.execute(text(HISTORY[engine.dialect.name]), {"rounds": rounds, "n": n, "step": interval,
                                                                    "now": now.timestamp()})
    await engine.dispose()


def drift_p99(metrics: str) -> float:
    m = re.search(r'slawatch_scheduler_start_drift_seconds\{quantile="0.99"\} ([0-9.e+-]+)', metrics)
    return float(m.group(1)) if m else float("nan")


def summaries(log: Path) -> list[float]:
    """The start drift p99 of each minute a process summed up in its log (seconds)."""
    return [float(x) / 1000 for x in re.findall(r"start drift p99 (\d+) ms", log.read_text(errors="replace"))]


def measure_slawatch(url: str, schema: str | None, n: int, rate: float, seconds: float, tmp: Path,
                     profile: str | None = None, workers: int = 0) -> dict:
    port = free_port()
    env = {**os.environ, "SLAWATCH_DATABASE_URL": url, "SLAWATCH_DATA_DIR": str(tmp / "data"),
           "SLAWATCH_LOG_LEVEL": "warning"}
    if schema:
        env["SLAWATCH_DATABASE_SCHEMA"] = schema
    token = subprocess.run([sys.executable, "-m", "app.cli", "tokens", "create", "--role", "scrape"], cwd=ROOT,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    # every process's summary (each 60 s, at info) carries the start drift p99 of its last minute:
    # the window's own figure (/metrics's quantile covers the last 100,000 starts, start-up included)
    logs = [tmp / f"run-{os.getpid()}.log"] + [tmp / f"worker{i}.log" for i in range(workers)]
    info = {**env, "SLAWATCH_LOG_LEVEL": "info"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--port", str(port)], cwd=ROOT, env=info,
                            stdout=subprocess.DEVNULL, stderr=open(logs[0], "w"))
    # `slawatch worker`s beside it share the targets through PostgreSQL leases
    helpers = [subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=info,
                                stdout=subprocess.DEVNULL, stderr=open(log, "w")) for log in logs[1:]]
    procs = [proc, *helpers]
    try:
        wait_port(port)
        time.sleep(max(10.0, 2 * n / rate))  # warm-up: every target probed at least once, caches filled
        c0, p0, t0 = sum(cpu_seconds(p.pid) for p in procs), postgres_cpu(), datetime.now(timezone.utc)
        spy = (subprocess.Popen(["py-spy", "record", "-p", str(proc.pid), "-d", str(int(seconds)), "-f", "raw",
                                 "-o", profile, "--threads", "--native"], stdout=subprocess.DEVNULL)
               if profile else None)
        time.sleep(seconds)
        if spy is not None:
            spy.wait(timeout=seconds + 60)
        c1, p1, t1 = sum(cpu_seconds(p.pid) for p in procs), postgres_cpu(), datetime.now(timezone.utc)
        rss = sum(rss_mb(p.pid) for p in procs)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"},
                            timeout=30).text
        # until each process sums up one more minute (after the warm-up: the steady state measured)
        counts = [len(summaries(log)) for log in logs]
        deadline = time.monotonic() + 70
        while time.monotonic() < deadline and any(len(summaries(log)) <= c
                                                  for log, c in zip(logs, counts, strict=True)):
            time.sleep(1)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    probes = asyncio.run(count(url, schema, t0, t1))
    db_cpu = (p1 - p0) if url.startswith("postgresql") else 0.0
    window = [summaries(log)[-1] for log in logs if summaries(log)]
    return {"probes": probes, "cpu": c1 - c0, "db_cpu": db_cpu, "drift_p99": max(window, default=float("nan")),
            "drift_since_start": drift_p99(metrics), "rss": rss,
            "cores": (c1 - c0 + db_cpu) / seconds, "expected": rate * (t1 - t0).total_seconds()}


async def count(url, schema, t0, t1) -> int:
    engine = make_engine(url, schema)
    async with engine.connect() as conn:
        t = ProbeResultRow.__table__.c
        n = (await conn.execute(select(func.count()).where(t.started_at >= t0, t.started_at < t1))).scalar()
    await engine.dispose()
    return n


def database(kind: str, tmp: Path, tag: str) -> tuple[str, str | None]:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/{tag}.db"
        upgrade(make_engine(url))
        return url, None
    schema = f"whole_{tag}_{os.getpid()}"

    async def create():
        e = make_engine(PG)
        async with e.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await e.dispose()
    asyncio.run(create())
    upgrade(make_engine(PG, schema))
    return PG, schema


def drop(url: str, schema: str | None) -> None:
    if schema is None:
        return

    async def go():
        e = make_engine(url)
        async with e.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await e.dispose()
    asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=100.0, help="probes per second (interval = targets / rate)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    ap.add_argument("--history-hours", default="0", help="comma-separated, e.g. 0,24")
    ap.add_argument("--contracts", type=int, default=1)
    ap.add_argument("--protocol", choices=["tcp", "http"], default="tcp")
    ap.add_argument("--profile", help="py-spy raw samples of the measured window to this file (needs py-spy)")
    ap.add_argument("--workers", type=int, default=0,
                    help="`slawatch worker`s beside `slawatch run` (PostgreSQL; the 50,000-target run uses 1)")
    args = ap.parse_args()
    if args.workers and args.db != "postgresql":
        ap.error("--workers share targets through PostgreSQL leases: add --db postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="whole"))
    interval = args.targets / args.rate
    with peers(tmp) as (bb, bb_port, target_port):
        b = measure_blackbox(bb, bb_port, args.protocol, args.rate, target_port, args.seconds)
        bms = 1000 * b["cpu"] / max(b["probes"], 1)
        print(f"{args.targets} {args.protocol.upper()} targets at {interval:.0f} s ({args.rate:.0f} probes/s), "
              f"{args.contracts} contracts, {args.seconds:.0f} s: blackbox_exporter {bms:.3f} ms CPU/probe "
              f"({b['probes']} probes)")
        kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
        for kind in kinds:
            fresh = None
            for hours in (float(h) for h in args.history_hours.split(",")):
                url, schema = database(kind, tmp, f"{kind}{int(hours)}")
                try:
                    asyncio.run(seed(url, schema, args.targets, interval, target_port, hours, args.contracts,
                                     args.protocol))
                    s = measure_slawatch(url, schema, args.targets, args.rate, args.seconds, tmp,
                                         args.profile, args.workers)
                finally:
                    drop(url, schema)
                sms = 1000 * (s["cpu"] + s["db_cpu"]) / max(s["probes"], 1)
                fresh = fresh or sms
                print(f"  slawatch run on {kind}, {hours:.0f} h of history: {sms:.3f} ms CPU/probe "
                      f"(process {1000 * s['cpu'] / max(s['probes'], 1):.3f}, database "
                      f"{1000 * s['db_cpu'] / max(s['probes'], 1):.3f}; {s['probes']} probes) — "
                      f"{sms / bms:.2f}× blackbox (goal ≤ 0.6), {sms / fresh:.2f}× fresh (goal ≤ 1.1), "
                      f"drift p99 {s['drift_p99'] * 1000:.0f} ms in a minute after warm-up (goal < 50; "
                      f"{s['drift_since_start'] * 1000:.0f} ms since start); {100 * s['cores']:.1f} % of a core, "
                      f"RSS {s['rss']:.0f} MB" + (f"; {args.workers} worker(s) beside it, stored {s['probes']} of "
                                                  f"{s['expected']:.0f} probes due in the window"
                                                  if args.workers else ""))


if __name__ == "__main__":
    main()
