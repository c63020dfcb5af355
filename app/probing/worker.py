"""The probe worker (inside ``slawatch run``, or alone as ``slawatch worker``):
the scheduler probes the stored targets, results are written in batches
(committed before they count; kept in the spool while the database cannot take
them), and the detector turns them into incidents."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import select

from app.auth.vault import Vault
from app.incidents.service import detection, record_results
from app.pause import stopped_within
from app.probing.spool import Spool
from app.storage import leases
from app.storage.results import NewResult
from app.storage.tables import TargetRow
from probes import PROBES, TARGETS
from probes.scheduler import Job, Scheduler

log = logging.getLogger("slawatch.worker")


class DatabaseDown(Exception):
    """The results could not be written; they are kept for the next flush."""
BATCH, FLUSH_SECONDS = 500, 1.0
RESCAN_SECONDS = 30.0  # embedded: targets written by another process (slawatch import) are probed within this
WRITE_SECONDS = 10.0
RECHECK_SECONDS = 300.0  # a healthy target's detection runs at least this often
SUMMARY_SECONDS = 60.0
LEASE_SECONDS = 30.0  # default lease: a dead worker's targets move within this


class Worker:
    """Probes targets and writes results. Embedded (``slawatch run`` on SQLite): every
    enabled target. With ``lease_seconds`` (``slawatch worker``, and ``slawatch run``
    on PostgreSQL): only the targets it holds a lease on, claimed with ``FOR UPDATE SKIP LOCKED`` and
    renewed well before expiry, so a dead worker's targets move within one lease."""

    def __init__(self, sessions, lease_seconds: float | None = None, name: str | None = None, metrics=None,
                 vault: Vault | None = None, data_dir: Path | None = None,
                 changed: Callable[[str], None] = lambda contract_id: None):
        self.sessions = sessions
        self.vault = vault if vault is not None else Vault([])  # opens the targets' stored passwords
        self.metrics = metrics  # app.metrics.ProbeMetrics, fed from the sink
        self.changed = changed  # a contract's incidents changed (the live SLA state of this process)
        self.lease_seconds = lease_seconds
        # stable across restarts (SLAWATCH_WORKER_ID, default host/role): a restarted
        # worker takes its own leases back at once instead of waiting for them to expire
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.pending: list[NewResult] = []
        self.targets: dict[str, TargetRow] = {}
        self.scheduler = Scheduler(PROBES, self.sink)
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.last_ok: dict[str, bool] = {}  # job → its last outcome, to log changes only
        self.undetected: dict[str, datetime] = {}  # target → oldest result not yet through detection
        # detection can only open an incident after a failure, or resolve one that is open:
        # a healthy target with nothing open skips it (re-checked every RECHECK_SECONDS all the same)
        self.failing: set[str] = set()  # targets with a failed result since their last detection
        self.open_checked: dict[str, tuple[bool, float]] = {}  # target → (an incident open, when seen)
        self.spool = Spool(data_dir)  # results the database could not take yet
        self.db_down = False
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}
        self.flushing = asyncio.Lock()

    def add(self, row: TargetRow) -> None:
        target = TARGETS[row.protocol].model_validate(self.vault.unseal(row.config))
        self.targets[row.id] = row
        for loc in row.locations:
            self.scheduler.add(Job(f"{row.id}/{loc}", row.protocol, target, row.interval, row.timeout, loc,
                                   {"target": row.id}))

    async def adopt(self, row: TargetRow) -> None:
        """A target just created through the API: probe it here (embedded), or let
        the lease round decide which worker takes it (shared)."""
        if self.lease_seconds is None:
            self.add(row)
        else:
            await self.claim()

    def remove(self, target_id: str) -> None:
        if self.metrics is not None:
            self.metrics.forget(target_id)
        row = self.targets.pop(target_id, None)
        self.open_checked.pop(target_id, None)  # recreated under the same id: looked at afresh
        for loc in (row.locations if row else []):
            self.scheduler.remove(f"{target_id}/{loc}")
            self.last_ok.pop(f"{target_id}/{loc}", None)

    async def sink(self, job: Job, r) -> None:
        row = self.targets.get(job.labels["target"])
        if self.metrics is not None and row is not None:
            self.metrics.observe((row.id, row.contract_id, row.protocol, job.location), r)
        self._note(job, r)
        # ("_" keys are for /probe's series only)
        detail = {k: v for k, v in r.detail.items() if k != "exception" and not k.startswith("_")}
        if self.lease_seconds is not None:
            detail["worker"] = self.name
        self.pending.append(NewResult(target_id=job.labels["target"], location=job.location,
                                      started_at=r.started_at, ok=r.ok, error=r.error,
                                      duration_seconds=r.duration_seconds, phases=r.phases, detail=detail,
                                      rejected=r.rejected, skipped=r.skipped))
        if len(self.pending) >= BATCH and not self.db_down and not self.flushing.locked():
            # (while the database is down, or a flush is under way, the flusher takes them)
            try:
                await self.flush()
            except DatabaseDown:
                pass

    def _note(self, job: Job, r) -> None:
        """A log line when a target's outcome changes (and for its first probe), not for every probe."""
        self.counts["skipped" if r.skipped else "ok" if r.ok else "failed"] += 1
        if r.skipped:
            return
        was = self.last_ok.get(job.key)
        self.last_ok[job.key] = r.ok
        if was is None or was != r.ok:
            state = (f"ok{'' if was is None else ' again'} in {r.duration_seconds * 1000:.0f} ms" if r.ok
                     else f"FAILED {r.error}{'' if was is None else ' (was ok)'}")
            log.info("probe %s (%s): %s", job.key.removesuffix("/default"), job.protocol, state)

    async def _stopped_within(self, seconds: float) -> bool:
        return await stopped_within(self.stop, seconds)  # a stop never waits out a pause

    async def _summary(self) -> None:
        while not await self._stopped_within(SUMMARY_SECONDS):
            c, self.counts = self.counts, {"ok": 0, "failed": 0, "skipped": 0}
            failing = sorted(k.removesuffix("/default") for k, ok in self.last_ok.items() if not ok)
            drift = self.scheduler.stats.drift_quantile(0.99, last=sum(c.values()))
            log.info("last %.0f s: %d probes ok, %d failed, %d skipped, start drift p99 %.0f ms%s", SUMMARY_SECONDS,
                     c["ok"], c["failed"], c["skipped"], drift * 1000,
                     f"; failing now: {', '.join(failing[:10])}" if failing else "")

    async def flush(self) -> None:
        """Write what is pending — after whatever an earlier failure kept, oldest
        first — then detect. A failed write keeps every row (``Spool``): nothing
        is dropped, nothing written twice."""
        async with self.flushing:  # one at a time: the sink's and the flusher's would detect the same targets
            await self._flush()

    async def _flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch and not len(self.spool):
            return
        self.spool.keep(batch)
        async with self.sessions() as db:
            async def write(rows: list[NewResult]) -> None:
                for r in rows:  # detection resumes a few rounds before the oldest new result
                    seen = self.undetected.get(r.target_id)
                    if seen is None or r.started_at < seen:
                        self.undetected[r.target_id] = r.started_at
                    if not r.ok and not r.skipped:
                        self.failing.add(r.target_id)
                async with asyncio.timeout(WRITE_SECONDS):  # a database that stops answering is down too
                    await record_results(db, rows)
            try:
                written = await self.spool.drain(write)
            except Exception as exc:  # noqa: BLE001 - whatever failed the write, the rows are kept
                try:  # connections cut under the pool are never handed out again: the next try starts fresh
                    await db.invalidate()
                    await self.sessions.kw["bind"].dispose()
                except Exception:  # noqa: BLE001 - they are gone already
                    pass
                if not self.db_down:
                    log.warning("cannot write probe results (%s); keeping them, %d queued",
                                type(exc).__name__, self.queued())
                self.db_down = True
                raise DatabaseDown from None
            if self.db_down:
                log.info("database back: wrote %d kept probe results", written)
                self.db_down = False
            for tid in sorted(self.undetected):
                target = self.targets.get(tid)
                if target is not None and self._may_change(tid):
                    # it logs what opened and resolved
                    touched, still_open = await detection(db, target, self.undetected[tid])
                    self.open_checked[tid] = (still_open, time.monotonic())
                    if touched:
                        self.changed(target.contract_id)
                del self.undetected[tid]  # kept on failure: the next flush detects from there
                self.failing.discard(tid)

    def _may_change(self, tid: str) -> bool:
        """Whether detection could open or resolve anything for ``tid`` now."""
        known = self.open_checked.get(tid)
        return (tid in self.failing or known is None or known[0]
                or time.monotonic() - known[1] > RECHECK_SECONDS)  # a staff reopen, say

    def queued(self) -> int:
        return len(self.pending) + self.spool.in_memory()

    async def _flusher(self) -> None:
        while not await self._stopped_within(FLUSH_SECONDS):
            try:
                await self.flush()
            except DatabaseDown:
                pass  # said once when it began; the rows are kept
            except Exception:  # keep probing; the next flush retries detection
                log.exception("detecting incidents failed")

    async def rescan(self) -> None:
        """Embedded: take up targets another process wrote (``slawatch import``) and drop
        deleted or disabled ones; ids first, whole rows only for the new ones."""
        async with self.sessions() as db:
            ids = set((await db.exec(select(TargetRow.id).where(TargetRow.enabled == True))).all())  # noqa: E712
            new = ids - set(self.targets)
            for tid in set(self.targets) - ids:
                self.remove(tid)
            for i in range(0, len(new), 500):
                for row in (await db.exec(select(TargetRow).where(TargetRow.id.in_(sorted(new)[i:i + 500])))).all():
                    self.add(row)
        if new:
            log.info("probing %d targets (%d new)", len(self.targets), len(new))

    async def _rescanner(self) -> None:
        while not await self._stopped_within(RESCAN_SECONDS):
            try:
                await self.rescan()
            except Exception:  # the next round retries
                log.exception("reading the targets failed")

    async def start(self) -> None:
        if self.lease_seconds is None:
            async with self.sessions() as db:
                for row in (await db.exec(select(TargetRow).where(TargetRow.enabled == True))).all():  # noqa: E712
                    self.add(row)
            log.info("probing %d targets", len(self.targets))
            self.tasks.append(asyncio.create_task(self._rescanner()))
        else:
            await self.claim()
            self.tasks.append(asyncio.create_task(self._leaser()))
        self.tasks += [asyncio.create_task(self.scheduler.run(self.stop)), asyncio.create_task(self._flusher()),
                       asyncio.create_task(self._summary())]

    async def claim(self) -> None:
        """Renew this worker's leases and take free or expired ones, up to a fair share."""
        async with self.sessions() as db:
            held, rows = await leases.claim(db, self.name, self.lease_seconds, datetime.now(timezone.utc),
                                            set(self.targets))
        for tid in [t for t in self.targets if t not in held]:
            self.remove(tid)
        for row in rows:
            self.add(row)

    async def _leaser(self) -> None:
        while not await self._stopped_within(self.lease_seconds / 3):
            try:
                await self.claim()
            except Exception:  # the next round retries; leases outlive two misses
                log.exception("renewing leases failed")

    async def release(self) -> None:
        """Give the leases back and leave the fair share at once (graceful shutdown):
        the others take the targets at their next round, in the same slots."""
        if self.lease_seconds is None:
            return
        async with self.sessions() as db:
            await leases.release(db, self.name)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        try:
            await self.release()
        except Exception:  # noqa: BLE001 - the database may be down: the leases then expire
            log.warning("could not release the leases; they expire within %.0f s", self.lease_seconds)
        try:
            await self.flush()
        except DatabaseDown:
            self.spool.persist()  # to the file: the next start writes them
