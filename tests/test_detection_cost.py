"""Detection runs only when it can change something: after a failed result, or
while an incident of the target's probes is open (and every few minutes all the
same). A healthy target with nothing open costs no detection at all; outages
still open and resolve at the same rounds."""
import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

import app.probing.worker as worker_module
from app.probing.worker import Worker
from app.storage.db import make_engine, sessions, upgrade
from probes import TARGETS
from probes.result import ProbeResult
from probes.scheduler import Job
from tests.peers.seed import seed_tcp_targets

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)


def test_a_healthy_target_costs_no_detection(tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path}/d.db"
    upgrade(make_engine(url))
    runs: list[str] = []
    real = worker_module.detection

    async def counted(db, target, earliest=None):
        runs.append(target.id)
        return await real(db, target, earliest)
    monkeypatch.setattr(worker_module, "detection", counted)

    async def go():
        engine = make_engine(url)
        try:
            (row,) = await seed_tcp_targets(sessions(engine), ["mx"], 25, interval=60, timeout=5)
            w = Worker(sessions(engine), data_dir=tmp_path / "data")
            w.add(row)
            job = Job("mx/default", "tcp", TARGETS["tcp"].model_validate(row.config), 60, 5, "default",
                      {"target": "mx"})
            seen = []
            # minutes 0-9 ok, 10-14 failing (opens at 10 after 3 rounds), 15-24 ok (resolves), 25-34 ok
            for i in range(35):
                ok = not 10 <= i < 15
                await w.sink(job, ProbeResult(ok, T0 + timedelta(minutes=i), 0.01, {}, None if ok else "refused", {}))
                await w.flush()
                seen.append(len(runs))
            async with engine.connect() as conn:
                incidents = (await conn.execute(text("SELECT i.id, e.kind FROM incidents i JOIN incident_events e "
                                                     "ON e.incident_id = i.id ORDER BY e.seq"))).all()
            return seen, incidents
        finally:
            await engine.dispose()
    seen, incidents = asyncio.run(go())
    per_round = [b - a for a, b in zip([0, *seen], seen, strict=False)]
    assert per_round[:10] == [1] + [0] * 9  # once to learn nothing is open, then nothing while healthy
    assert all(per_round[10:15])  # every failing round is looked at
    assert sum(per_round[25:]) == 0  # resolved and healthy again: nothing
    # opened at its first failed round, resolved once good again
    assert incidents == [("mx@20261130T011000.000000Z", "opened"), ("mx@20261130T011000.000000Z", "resolved")]


def test_flushes_at_the_same_moment_take_turns(tmp_path):
    """The sink flushes a full batch while the flusher's own flush is detecting: the
    two never work on the same targets at once (that lost a detection to a KeyError)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/f.db"
    upgrade(make_engine(url))

    async def go():
        engine = make_engine(url)
        try:
            rows = await seed_tcp_targets(sessions(engine), [f"t{i}" for i in range(20)], 25, interval=60, timeout=5)
            w = Worker(sessions(engine), data_dir=tmp_path / "data")
            for row in rows:
                w.add(row)
            for i, row in enumerate(rows):
                job = Job(f"{row.id}/default", "tcp", TARGETS["tcp"].model_validate(row.config), 60, 5, "default",
                          {"target": row.id})
                await w.sink(job, ProbeResult(False, T0 + timedelta(seconds=i), 0.01, {}, "refused", {}))
            results = await asyncio.gather(w.flush(), w.flush(), w.flush(), return_exceptions=True)
            return results, dict(w.undetected)
        finally:
            await engine.dispose()
    results, undetected = asyncio.run(go())
    assert results == [None, None, None] and undetected == {}  # every target detected once, none lost
