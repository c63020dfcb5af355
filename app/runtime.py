"""The embedded worker inside ``slawatch run``: the scheduler probes the stored
targets, results are written in batches (committed before they count), and the
detector turns them into incidents."""
from __future__ import annotations

import asyncio
import logging

from sqlmodel import select

from app.incidents.service import apply_detection, record_results
from app.storage.tables import ProbeResultRow, TargetRow
from probes import PROBES, TARGETS
from probes.scheduler import Job, Scheduler

log = logging.getLogger("slawatch.worker")
BATCH, FLUSH_SECONDS = 500, 1.0


class Worker:
    def __init__(self, sessions):
        self.sessions = sessions
        self.pending: list[ProbeResultRow] = []
        self.targets: dict[str, TargetRow] = {}
        self.scheduler = Scheduler(PROBES, self.sink)
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task] = []

    def add(self, row: TargetRow) -> None:
        target = TARGETS[row.protocol].model_validate(row.config)
        self.targets[row.id] = row
        for loc in row.locations:
            self.scheduler.add(Job(f"{row.id}/{loc}", row.protocol, target, row.interval, row.timeout, loc,
                                   {"target": row.id}))

    def remove(self, target_id: str) -> None:
        row = self.targets.pop(target_id, None)
        for loc in (row.locations if row else []):
            self.scheduler.remove(f"{target_id}/{loc}")

    async def sink(self, job: Job, r) -> None:
        self.pending.append(ProbeResultRow(target_id=job.labels["target"], location=job.location,
                                           started_at=r.started_at, ok=r.ok, error=r.error,
                                           duration_seconds=r.duration_seconds, phases=r.phases,
                                           detail={k: v for k, v in r.detail.items() if k != "exception"},
                                           rejected=r.rejected, skipped=r.skipped))
        if len(self.pending) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        async with self.sessions() as db:
            await record_results(db, batch)
            for tid in sorted({b.target_id for b in batch}):
                target = self.targets.get(tid)
                if target is not None:
                    opened = await apply_detection(db, target)
                    for iid in opened:
                        log.info("incident %s changed from probe results of %s", iid, tid)

    async def _flusher(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 - keep probing; the next flush retries detection
                log.exception("writing probe results failed")

    async def start(self) -> None:
        async with self.sessions() as db:
            for row in (await db.exec(select(TargetRow).where(TargetRow.enabled == True))).all():  # noqa: E712
                self.add(row)
        log.info("probing %d targets", len(self.targets))
        self.tasks = [asyncio.create_task(self.scheduler.run(self.stop)), asyncio.create_task(self._flusher())]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.flush()
