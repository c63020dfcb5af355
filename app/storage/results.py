"""Probe results written in bulk: COPY on PostgreSQL (several times the rows/s
of a multi-row INSERT, benchmarks/service.py), one multi-row INSERT on SQLite."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.db import is_shared
from app.storage.tables import ProbeResultRow


@dataclass(slots=True)
class NewResult:
    """A result on its way to ``probe_results``: a plain record, not an ORM object
    (building one of those per probe cost about a sixth of the hot path's CPU)."""
    target_id: str
    location: str
    started_at: datetime
    ok: bool
    error: str | None = None
    duration_seconds: float = 0.0
    phases: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)
    rejected: bool = False
    skipped: bool = False


RESULT_COLUMNS = [f.name for f in fields(NewResult)]


async def insert_results(db: AsyncSession, rows: list[NewResult] | list[ProbeResultRow]) -> None:
    """In the session's transaction; the caller commits."""
    conn = await db.connection()
    if is_shared(conn.engine):
        raw = (await conn.get_raw_connection()).driver_connection
        records = [tuple(_copy_value(getattr(r, c)) for c in RESULT_COLUMNS) for r in rows]
        await raw.copy_records_to_table("probe_results", records=records, columns=RESULT_COLUMNS,
                                        schema_name=await raw.fetchval("SELECT current_schema()"))
    else:
        await db.exec(insert(ProbeResultRow), params=[{c: getattr(r, c) for c in RESULT_COLUMNS} for r in rows])


def _copy_value(v):
    return json.dumps(v) if isinstance(v, (dict, list)) else v
