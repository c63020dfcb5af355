"""The spool's bounds: rows the spool file cannot take stay in memory as compact
lines up to a byte bound, and beyond it the newest are dropped and counted; a
line a crash cut short is skipped and counted; order is kept throughout."""
import asyncio
from datetime import datetime, timedelta, timezone

from app.probing.spool import Spool, dump
from app.storage.results import RESULT_COLUMNS, NewResult
from app.storage.tables import ProbeResultRow

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)


def rows(first: int, n: int) -> list[NewResult]:
    return [NewResult(target_id="mx", location="default", started_at=T0 + timedelta(minutes=i), ok=True,
                      error=None, duration_seconds=0.01, phases={}, detail={}) for i in range(first, first + n)]


def drained(spool: Spool) -> list[int]:
    out: list[NewResult] = []

    async def write(chunk):
        out.extend(chunk)
    asyncio.run(spool.drain(write))
    return [int((r.started_at - T0).total_seconds() // 60) for r in out]


def test_an_unwritable_spool_file_bounds_memory_and_counts_what_it_drops(tmp_path):
    (tmp_path / "not-a-folder").write_text("")  # the spool folder cannot be made: every file write fails
    line = len(dump(rows(0, 1)[0]))
    spool = Spool(tmp_path / "not-a-folder", memory_rows=4, overflow_bytes=6 * line)
    for i in range(0, 30, 3):
        spool.keep(rows(i, 3))
    assert len(spool.overflow) >= 6 and spool.dropped > 0  # the memory bound reached, the rest counted
    kept = drained(spool)
    assert kept == sorted(kept) and len(set(kept)) == len(kept)  # in order, once
    assert len(kept) + spool.dropped == 30 and kept[0] == 0  # the oldest are the ones kept


def test_a_line_cut_short_is_skipped_and_counted(tmp_path):
    spool = Spool(tmp_path, memory_rows=2)
    spool.keep(rows(0, 5))  # three of them to the file
    with spool.path.open("a") as f:
        f.write(dump(rows(9, 1)[0])[:40])  # a crash in the middle of a line
    spool.keep(rows(5, 3))  # the next start appends after it
    assert drained(spool) == [0, 1, 2, 3, 4, 5, 6, 7] and spool.dropped == 1


def test_a_new_result_carries_every_stored_column():
    # the hot path's plain record and the table must not drift apart: a column missing here is never written
    assert RESULT_COLUMNS == [c.name for c in ProbeResultRow.__table__.columns if c.name != "id"]
