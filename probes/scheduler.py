"""The probe scheduler: every target at its interval (default 60 s), spread
evenly over the interval by a hash of its key (the same slot in every process,
so a restart or a lease handover never probes early or skips one), with bounded concurrency and a per-target
timeout; results go to a sink (an async callable).

A hung or slow target never delays another: each probe runs in its own task
under its own timeout, and the loop never awaits a probe. Overload shows as
measured start drift (``stats``), never as silent skipping."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from probes.result import ProbeResult

log = logging.getLogger("slawatch.scheduler")
Sink = Callable[["Job", ProbeResult], Awaitable[None]]


@dataclass
class Job:
    key: str  # stable id of the target (and location)
    protocol: str
    target: Any
    interval: float = 60.0
    timeout: float = 10.0
    location: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.interval <= 0:
            raise ValueError(f"{self.key}: interval must be positive")
        if not 0 < self.timeout <= self.interval:
            raise ValueError(f"{self.key}: timeout must be positive and no longer than the interval")


@dataclass
class Stats:
    started: int = 0
    completed: int = 0
    sink_errors: int = 0
    in_flight: int = 0
    waiting: int = 0  # due, waiting for a concurrency slot
    drift: deque = field(default_factory=lambda: deque(maxlen=100_000))  # seconds late at start

    def drift_quantile(self, q: float, last: int | None = None) -> float:
        """The ``q`` quantile of the start drift (of the ``last`` starts only, when given)."""
        samples = list(itertools.islice(reversed(self.drift), last)) if last is not None else self.drift
        if not samples:
            return 0.0
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Scheduler:
    def __init__(self, probes: dict, sink: Sink, concurrency: int = 1000,
                 clock: Callable[[], float] = time.monotonic, batch_window: float = 0.02):
        self.probes, self.sink, self.clock = probes, sink, clock
        self.slots = asyncio.Semaphore(concurrency)
        self.batch_window = batch_window  # seconds: slots this close start in one wake-up
        self.jobs: dict[str, Job] = {}
        # (due, seq, key, generation): a key removed and added again gets a new generation,
        # so the old slot is dropped instead of probing the target twice per interval
        self.heap: list[tuple[float, int, str, int]] = []
        self.generation: dict[str, int] = {}
        self.seq = itertools.count()
        self.stats = Stats()
        self.tasks: set[asyncio.Task] = set()
        self._waker: asyncio.Future | None = None

    def add(self, job: Job) -> None:
        """Schedule ``job``; its slot is spread over the interval by a hash of its key and
        anchored to the wall clock, so it is the same slot in every process: a restarted
        worker, or the one that takes over a lease, probes it one interval after the last."""
        if job.protocol not in self.probes:
            raise ValueError(f"{job.key}: unknown protocol {job.protocol!r} (known: {', '.join(sorted(self.probes))})")
        self.jobs[job.key] = job
        gen = self.generation[job.key] = next(self.seq)
        spread = (zlib.crc32(job.key.encode()) / 2**32) * job.interval
        heapq.heappush(self.heap, (self.clock() + (spread - time.time()) % job.interval, next(self.seq), job.key,
                                   gen))
        self._wake()

    def _wake(self, *_):
        if self._waker is not None and not self._waker.done():
            self._waker.set_result(None)

    def remove(self, key: str) -> None:
        self.jobs.pop(key, None)  # its heap entry is dropped when it comes due
        self.generation.pop(key, None)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        stopper = asyncio.ensure_future(stop.wait())
        stopper.add_done_callback(self._wake)
        while not stop.is_set():
            # slots due within the batch window start now, together: one wake-up for
            # several probes instead of one each (a probe starts at most that much early)
            now = self.clock()
            horizon = now + self.batch_window
            while self.heap and self.heap[0][0] <= horizon:
                due, _, key, gen = heapq.heappop(self.heap)
                job = self.jobs.get(key)
                if job is None or self.generation.get(key) != gen:
                    continue
                # fixed rate: the next slot follows from this one, so lateness never accumulates
                heapq.heappush(self.heap, (due + job.interval, next(self.seq), key, gen))
                # drift counts lateness only, not the batch window's head start
                task = asyncio.create_task(self._one(job, min(due, now)))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            delay = (self.heap[0][0] - self.clock()) if self.heap else 1.0
            # sleep until the next slot, or until add()/stop wakes us (a timer, not a task per wait)
            self._waker = loop.create_future()
            timer = loop.call_later(max(delay, 0), self._wake)
            await self._waker
            timer.cancel()
        stopper.cancel()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _one(self, job: Job, due: float) -> None:
        st = self.stats
        st.waiting += 1
        async with self.slots:
            st.waiting -= 1
            st.drift.append(self.clock() - due)
            st.started += 1
            st.in_flight += 1
            try:
                result = await self.probes[job.protocol](job.target, job.timeout)
            finally:
                st.in_flight -= 1
        result.location = job.location
        st.completed += 1
        try:
            await self.sink(job, result)
        except Exception:  # a sink failure never stops the scheduler
            st.sink_errors += 1
            log.exception("sink failed for %s", job.key)
