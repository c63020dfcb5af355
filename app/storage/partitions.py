"""PostgreSQL: ``probe_results`` is partitioned by day on ``started_at`` (native
declarative partitioning, migration 0010). A day older than the retention is
rolled up and dropped whole — one ``DROP TABLE``, not millions of deletes — and
partitions are created a few days ahead; a default partition catches anything
outside them (then retention's batches deal with it)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

AHEAD_DAYS = 3
CHILDREN = text("""
    SELECT c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
    WHERE p.relname = 'probe_results' AND n.nspname = current_schema()""")
ROLL_UP = """
    INSERT INTO probe_rollups (target_id, location, minute, probes, failures, skipped, duration_sum, duration_max)
    SELECT target_id, location, date_trunc('minute', started_at), count(*),
           sum(CASE WHEN NOT ok AND NOT skipped THEN 1 ELSE 0 END), sum(CASE WHEN skipped THEN 1 ELSE 0 END),
           sum(duration_seconds), max(duration_seconds)
    FROM "{name}" GROUP BY 1, 2, 3
    ON CONFLICT (target_id, location, minute) DO UPDATE SET
        probes = probe_rollups.probes + excluded.probes, failures = probe_rollups.failures + excluded.failures,
        skipped = probe_rollups.skipped + excluded.skipped,
        duration_sum = probe_rollups.duration_sum + excluded.duration_sum,
        duration_max = greatest(probe_rollups.duration_max, excluded.duration_max)"""


def name_of(day: date) -> str:
    return f"probe_results_p{day:%Y%m%d}"


def day_of(name: str) -> date | None:
    digits = name.removeprefix("probe_results_p")
    return datetime.strptime(digits, "%Y%m%d").date() if name != digits and digits.isdigit() else None


def bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


async def partitioned(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return bool((await conn.execute(text(
            "SELECT 1 FROM pg_partitioned_table t JOIN pg_class c ON c.oid = t.partrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'probe_results' AND n.nspname = current_schema()"))).first())


async def ensure_days(engine: AsyncEngine, first: date, last: date) -> list[str]:
    """Daily partitions from ``first`` to ``last`` that are missing, created; a day the
    default partition already holds rows of is left there (retention's batches)."""
    made = []
    async with engine.begin() as conn:
        existing = set((await conn.execute(CHILDREN)).scalars())
        day = first
        while day <= last:
            name = name_of(day)
            if name not in existing:
                lo, hi = bounds(day)
                savepoint = await conn.begin_nested()
                try:
                    await conn.execute(text(f'CREATE TABLE "{name}" PARTITION OF probe_results '
                                            f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"))
                    await savepoint.commit()
                    made.append(name)
                except DBAPIError:  # rows of that day sit in the default partition already
                    await savepoint.rollback()
            day += timedelta(days=1)
    return made


async def drop_days_before(engine: AsyncEngine, cutoff: datetime) -> list[str]:
    """Whole days that end at or before ``cutoff``: rolled up and dropped, each in one transaction."""
    async with engine.connect() as conn:
        names = sorted(n for n in (await conn.execute(CHILDREN)).scalars()
                       if (d := day_of(n)) is not None and bounds(d)[1] <= cutoff)
    for name in names:
        async with engine.begin() as conn:
            await conn.execute(text(ROLL_UP.format(name=name)))
            await conn.execute(text(f'ALTER TABLE probe_results DETACH PARTITION "{name}"'))
            await conn.execute(text(f'DROP TABLE "{name}"'))
    return names
