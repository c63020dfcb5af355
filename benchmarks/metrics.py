"""``/metrics`` render time with 2,000 targets and 500 contracts (target < 100 ms),
and the CPU of the background rounds that read every contract's state.

Builds the real collectors: probe metrics fed with one result per target and
location, and the SLA snapshot refreshed from a SQLite database holding 500
contracts with open incidents; then times ``generate_latest`` as a scrape does.
Then runs the SLA metrics refresh (every 15 s) and the ticket round (every 5 s)
side by side for 30 s, on a fresh copy of the database each time: once each
reading its own state (as before ``app.live``) and once sharing one
``LiveState``, and prints the process CPU of each and the ratio.
    .venv/bin/python benchmarks/metrics.py
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry, generate_latest

from app.contracts.rules import load_rules
from app.evaluation.health import EvaluationErrors
from app.incidents.service import open_incident
from app.live import LiveState
from app.metrics import ProbeMetrics, SlaSnapshot
from app.settings import Settings
from app.storage.db import make_engine, sessions, upgrade
from app.storage.tables import ContractRow, Customer
from app.tickets.loop import TicketLoop
from benchmarks._cpu import cpu_seconds
from probes.result import Run


async def seed(url: str) -> None:
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    body = {"template": "ningbo-colo", "timezone": "Asia/Shanghai", "month_fee": "800.00", "billing": "monthly",
            "payments": [], "customer": "bench", "terminated": None, "credit_policy": None}
    async with sessions(engine)() as db:
        db.add(Customer(id="bench", name="bench"))
        await db.flush()
        for c in range(500):
            db.add(ContractRow(id=f"c{c}", customer_id="bench", template="ningbo-colo", body={**body, "id": f"c{c}"}))
        await db.flush()
        for c in range(500):
            for k in range(2):
                t = now - timedelta(minutes=10 + 7 * k + c % 50)
                await open_incident(db, incident_id=f"c{c}-{k}", contract_id=f"c{c}", category="server_fault",
                                    started_at=t, reported_at=t, actor="bench")
        await db.commit()
    await engine.dispose()


def main() -> None:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/metrics.db"
    upgrade(make_engine(url))
    asyncio.run(seed(url))
    registry = CollectorRegistry()
    probes = ProbeMetrics()
    for i in range(2000):
        run = Run()
        run.phase("connect")
        probes.observe((f"t{i}", f"c{i % 500}", "tcp", "default"), run.ok() if i % 9 else run.fail("refused"))
    engine = make_engine(url)
    rules = load_rules(ROOT / "sla_rules")
    snapshot = SlaSnapshot(LiveState(sessions(engine), rules, EvaluationErrors()))
    t0 = time.perf_counter()
    asyncio.run(snapshot.refresh())
    refresh = time.perf_counter() - t0
    times, size = [], 0
    for _ in range(20):
        t0 = time.perf_counter()
        size = len(probes.render().encode() + snapshot.text + generate_latest(registry))
        times.append(time.perf_counter() - t0)
    p50, worst = statistics.median(times) * 1000, max(times) * 1000
    print(f"/metrics with 2,000 targets and 500 contracts (1,000 open incidents, 3,000 running windows): "
          f"{size / 1024:.0f} KiB, render p50 {p50:.1f} ms, max {worst:.1f} ms "
          f"(target < 100 ms; ratio {p50 / 100:.2f})")
    print(f"background SLA refresh (not on the scrape path): {refresh:.2f} s for 500 contracts")
    rounds(url, rules)


def rounds(url: str, rules, seconds: float = 30.0) -> None:
    """Metrics every 15 s and tickets every 5 s for ``seconds``: CPU with separate
    states (each consumer evaluates every contract itself) and with one shared state."""
    logging.getLogger("slawatch").setLevel(logging.ERROR)  # the log sink writes each ticket as a warning
    seeded = Path(url.removeprefix("sqlite+aiosqlite:///"))

    async def run(shared: bool) -> tuple[float, int]:
        copy = seeded.with_name(f"rounds-{shared}.db")
        shutil.copy(seeded, copy)  # the same tickets to file in both runs
        copy_url = f"sqlite+aiosqlite:///{copy}"
        settings = Settings(database_url=copy_url, ticket_interval_seconds=5, metrics_refresh_seconds=15)
        engine = make_engine(copy_url)
        db = sessions(engine)
        errors = EvaluationErrors()
        mine = LiveState(db, rules, errors, max_age=5)
        other = mine if shared else LiveState(db, rules, errors, max_age=5)
        metrics, tickets = SlaSnapshot(mine, 15), TicketLoop(other, db, settings)
        stop = asyncio.Event()
        c0 = cpu_seconds()
        tasks = [asyncio.create_task(metrics.run(stop)), asyncio.create_task(tickets.run(stop))]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        await engine.dispose()
        return cpu_seconds() - c0, mine.rounds + (0 if shared else other.rounds)

    before, n_before = asyncio.run(run(shared=False))
    after, n_after = asyncio.run(run(shared=True))
    print(f"metrics (15 s) + ticket (5 s) rounds, 500 contracts, {seconds:.0f} s: {before:.2f} s CPU "
          f"({n_before} evaluations of every contract) each on its own, {after:.2f} s CPU ({n_after}) sharing "
          f"app.live (ratio {after / before:.2f}; goal < 1)")


if __name__ == "__main__":
    main()
