"""The scheduler: intervals kept, a hung target delays no other, bounded
concurrency shows as drift, locations carried, bad jobs refused."""
import asyncio
import time
from itertools import pairwise

import pytest

from probes.result import Run
from probes.scheduler import Job, Scheduler
from tests.peers.util import until


def fake_probes(log, hang=frozenset(), hold=0.0):
    async def probe(target, timeout):
        run = Run()
        log.append((target, time.monotonic()))
        if target in hang:
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.sleep(3600)
            except TimeoutError:
                return run.fail("timeout:connect")
        await asyncio.sleep(hold)
        return run.ok()
    return {"fake": probe}


async def run_for(sched, seconds):
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task


def test_every_target_at_its_interval_and_a_hung_one_delays_none():
    async def go():
        log, results = [], []

        async def sink(job, result):
            results.append((job.key, result.ok, result.location))
        sched = Scheduler(fake_probes(log, hang={"hung"}), sink, concurrency=100)
        for name in ("a", "b", "c", "hung"):
            sched.add(Job(name, "fake", name, interval=0.2, timeout=0.15, location="sh-1"))
        await run_for(sched, 1.05)
        return log, results, sched.stats
    log, results, stats = asyncio.run(go())
    starts = {k: [t for n, t in log if n == k] for k in ("a", "b", "c", "hung")}
    for k, ts in starts.items():
        assert 5 <= len(ts) <= 6, (k, len(ts))
        gaps = [b - a for a, b in pairwise(ts)]
        assert all(0.15 < g < 0.25 for g in gaps), (k, gaps)
    assert ("hung", False, "sh-1") in results and ("a", True, "sh-1") in results
    assert stats.drift_quantile(0.99) < 0.05


def test_bounded_concurrency_shows_as_drift_not_skips():
    async def go():
        log = []

        async def sink(job, result):
            pass
        # demand: 40 probes per 0.5 s; capacity: 2 slots × 0.1 s = 20 per second
        sched = Scheduler(fake_probes(log, hold=0.1), sink, concurrency=2)
        for i in range(40):
            sched.add(Job(f"t{i}", "fake", f"t{i}", interval=0.5, timeout=0.4))
        stop = asyncio.Event()
        task = asyncio.create_task(sched.run(stop))
        await asyncio.sleep(0.6)
        waiting, started = sched.stats.waiting, sched.stats.started
        stop.set()
        await task
        return waiting, started, sched.stats
    waiting, started, stats = asyncio.run(go())
    assert 8 <= started <= 16
    assert waiting + started + stats.in_flight >= 40  # every due probe started or queued: none skipped
    assert stats.drift_quantile(0.99) >= 0.2  # the queue shows as lateness


def test_bad_jobs_are_refused():
    with pytest.raises(ValueError, match="timeout must be positive and no longer than the interval"):
        Job("x", "fake", None, interval=5, timeout=10)

    async def go():
        async def sink(job, result):
            pass
        sched = Scheduler({"fake": None}, sink)
        with pytest.raises(ValueError, match="unknown protocol 'ftp'"):
            sched.add(Job("x", "ftp", None))
    asyncio.run(go())


def test_sink_failure_does_not_stop_the_scheduler():
    async def go():
        log = []

        async def sink(job, result):
            raise RuntimeError("database down")
        sched = Scheduler(fake_probes(log), sink)
        sched.add(Job("a", "fake", "a", interval=0.1, timeout=0.05))
        await run_for(sched, 0.35)
        return log, sched.stats
    log, stats = asyncio.run(go())
    assert len(log) >= 3 and stats.sink_errors == stats.completed >= 3


def test_a_target_removed_and_added_again_has_one_schedule():
    """Delete + recreate (or replace) under the same id: probed once per interval, not twice."""
    async def go():
        log = []

        async def sink(job, result):
            pass
        sched = Scheduler(fake_probes(log), sink, concurrency=100)
        job = Job("t", "fake", "t", interval=0.2, timeout=0.1)
        sched.add(job)
        stop = asyncio.Event()
        task = asyncio.create_task(sched.run(stop))
        assert await until(lambda: log, 2)  # it has run once
        sched.remove("t")
        sched.add(job)  # recreated
        sched.add(job)  # and replaced
        recreated = len(log)
        assert await until(lambda: len(log) >= recreated + 5, 5)
        stop.set()
        await task
        return [t for _, t in log][recreated:]
    starts = asyncio.run(go())
    # one schedule: consecutive starts an interval apart (three schedules would start within ms of each other)
    assert all(b - a > 0.1 for a, b in pairwise(starts)), starts
