"""Raw probe results are kept for the retention (``SLAWATCH_RESULTS_RETENTION``,
35 days by default; basis: policy — longer than any month a statement covers);
older ones are rolled up per target, location and minute into ``probe_rollups``
and deleted, a small batch per transaction (the roll-up and the deletion commit
together: nothing counted twice, nothing lost), off the probes' hot path.

Incidents, their events and statements never read raw results, and detection
reads only a few rounds back (``detect.lookback``): deleting old rows changes
no figure. One process does it (the ticket sender's lock on PostgreSQL)."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from app.pause import stopped_within
from app.storage import partitions
from app.storage.db import is_shared
from app.storage.tables import ProbeResultRow, ProbeRollupRow

log = logging.getLogger("slawatch.retention")
BATCH = 5000
EVERY_SECONDS = 600.0
MAX_BATCHES = 100  # per wake-up: a large backlog is worked off over several, never in one stall


def minute_of(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


async def roll_up_batch(db: AsyncSession, cutoff: datetime, batch: int = BATCH) -> int:
    """Roll up and delete the oldest ``batch`` results before ``cutoff``; committed.
    Returns how many were deleted (0: nothing older is left)."""
    t = ProbeResultRow.__table__.c
    conn = await db.connection()
    rows = (await conn.execute(select(t.id, t.target_id, t.location, t.started_at, t.ok, t.skipped,
                                    t.duration_seconds).where(t.started_at < cutoff)
                             .order_by(t.started_at).limit(batch))).all()
    if not rows:
        return 0
    sums: dict[tuple, list] = {}
    for r in rows:
        s = sums.setdefault((r.target_id, r.location, minute_of(r.started_at)), [0, 0, 0, 0.0, 0.0])
        s[0] += 1
        s[1] += 0 if r.ok or r.skipped else 1
        s[2] += 1 if r.skipped else 0
        s[3] += r.duration_seconds
        s[4] = max(s[4], r.duration_seconds)
    values = [{"target_id": k[0], "location": k[1], "minute": k[2], "probes": v[0], "failures": v[1],
               "skipped": v[2], "duration_sum": v[3], "duration_max": v[4]} for k, v in sums.items()]
    dialect = postgresql if is_shared(conn.engine) else sqlite
    stmt = dialect.insert(ProbeRollupRow.__table__).values(values)
    x = stmt.excluded
    c = ProbeRollupRow.__table__.c
    # a minute split over two batches adds up; a re-run after a crash cannot happen (one transaction)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=["target_id", "location", "minute"],
        set_={"probes": c.probes + x.probes, "failures": c.failures + x.failures, "skipped": c.skipped + x.skipped,
              "duration_sum": c.duration_sum + x.duration_sum,
              "duration_max": _greatest(dialect, c.duration_max, x.duration_max)}))
    await conn.execute(delete(ProbeResultRow).where(t.id.in_([r.id for r in rows])))
    await db.commit()
    return len(rows)


def _greatest(dialect, a, b):
    return func.greatest(a, b) if dialect is postgresql else func.max(a, b)


class Retention:
    def __init__(self, sessions, keep: timedelta, may_run=None, also=()):
        self.sessions, self.keep = sessions, keep
        self.also = also  # more housekeeping on the same wake-up (expired portal links and sessions)
        self.engine = sessions.kw["bind"]
        self.may_run = may_run  # async () -> bool: this process is the one that does it
        self.deleted = 0

    async def once(self, now: datetime | None = None) -> int:
        """Work off what is older than the retention, at most ``MAX_BATCHES`` batches."""
        now = now or datetime.now(timezone.utc)
        cutoff = now - self.keep
        done = 0
        if is_shared(self.engine) and await partitions.partitioned(self.engine):
            # whole days at once: days ahead made, days past the retention rolled up and dropped
            await partitions.ensure_days(self.engine, now.date(), now.date() + timedelta(days=partitions.AHEAD_DAYS))
            dropped = await partitions.drop_days_before(self.engine, cutoff)
            if dropped:
                log.info("rolled up and dropped %d daily partitions of probe results (%s … %s)", len(dropped),
                         dropped[0], dropped[-1])
        for _ in range(MAX_BATCHES):
            async with self.sessions() as db:
                n = await roll_up_batch(db, cutoff)
            done += n
            if n < BATCH:
                break
            await asyncio.sleep(0)  # let the probes' loop run between batches
        if done:
            log.info("rolled up and deleted %d probe results older than %s", done, cutoff.isoformat())
        self.deleted += done
        return done

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if self.may_run is None or await self.may_run():
                    await self.once()
                    for sweep in self.also:
                        await sweep()
            except Exception:  # the next wake-up retries; raw rows simply stay a little longer
                log.exception("rolling up old probe results failed")
            await stopped_within(stop, EVERY_SECONDS)
