"""Probe results that could not be written yet: kept, in order, and written
once when the database is back, so a service that failed during a database
blip still leaves its trace (and opens its incident with the right
``started_at``).

Oldest first: an append-only file (``SLAWATCH_DATA_DIR/results.spool``,
JSON lines), then rows the file could not take (disk full: kept in memory as
compact lines, at most ``OVERFLOW_BYTES``), then the in-memory backlog (at
most ``MEMORY_ROWS`` rows; beyond it the oldest move to the file). Drained in
chunks, each committed before it leaves the spool; the file's read position is
kept beside it (``results.spool.offset``, written after each committed chunk),
so a crash in the middle neither loses nor repeats a chunk.

When the database, the disk and the overflow are all full, new results are
dropped and counted (``dropped``; ``slawatch_results_dropped_total``) — the
process never grows without bound (basis: policy — the oldest results hold
when each outage began, which is what a credit is computed from)."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from app.storage.results import RESULT_COLUMNS, NewResult

log = logging.getLogger("slawatch.worker")
MEMORY_ROWS = 50_000
OVERFLOW_BYTES = 64 * 1024 * 1024
CHUNK = 500


def dump(row: NewResult) -> str:
    d = {f: getattr(row, f) for f in RESULT_COLUMNS}
    d["started_at"] = row.started_at.isoformat()
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n"


def load(line: str) -> NewResult | None:
    """A row, or None for a line a crash cut short (counted as dropped by the caller)."""
    try:
        d = json.loads(line)
        d["started_at"] = datetime.fromisoformat(d["started_at"])
        return NewResult(**d)
    except (ValueError, TypeError, KeyError):
        return None


class Spool:
    def __init__(self, folder: Path | None, memory_rows: int = MEMORY_ROWS, overflow_bytes: int = OVERFLOW_BYTES):
        self.path = Path(folder) / "results.spool" if folder is not None else None
        self.offset_path = self.path.with_name("results.spool.offset") if self.path is not None else None
        self.memory_rows = memory_rows
        self.overflow_bytes = overflow_bytes
        self.backlog: list[NewResult] = []
        self.overflow: list[str] = []  # dumped rows the file could not take, older than the backlog
        self.overflow_size = 0
        self.dropped = 0
        self.file_failing = False  # said once per failing spell, not once per flush

    def __len__(self) -> int:
        return self.in_memory() + (1 if self._file_has_rows() else 0)

    def in_memory(self) -> int:
        return len(self.backlog) + len(self.overflow)

    def _file_has_rows(self) -> bool:
        return self.path is not None and self.path.exists() and self.path.stat().st_size > self._offset()

    def _offset(self) -> int:
        try:
            return int(self.offset_path.read_text())
        except (OSError, ValueError, AttributeError):
            return 0

    def _set_offset(self, offset: int) -> None:
        tmp = self.offset_path.with_suffix(".tmp")
        tmp.write_text(str(offset))
        os.replace(tmp, self.offset_path)

    def keep(self, rows: list[NewResult]) -> None:
        """Rows that could not be written, newer than anything kept before them."""
        if self.overflow_size >= self.overflow_bytes:
            self._to_file(0)  # the disk may have room again
        if self.overflow_size >= self.overflow_bytes:  # nowhere left: the newest are the ones given up
            if rows:
                if not self.dropped:
                    log.error("results dropped: database, disk (%s) and %d MB of memory are all full",
                              self.path, self.overflow_bytes // 2**20)
                self.dropped += len(rows)
            return
        self.backlog.extend(rows)
        if len(self.backlog) > self.memory_rows:
            self._to_file(len(self.backlog) - self.memory_rows // 2)

    def persist(self) -> None:
        """Everything in memory to the file (at shutdown with the database down)."""
        self._to_file(len(self.backlog))
        if self.in_memory():
            log.error("%d results lost at shutdown: neither the database nor %s could take them",
                      self.in_memory(), self.path)

    def _to_file(self, n: int) -> None:
        move = self.backlog[:n]
        del self.backlog[:n]
        lines = [dump(r) for r in move]
        if self.path is not None:
            text = "".join(self.overflow + lines)
            try:
                self._append(text)
                self.overflow, self.overflow_size, self.file_failing = [], 0, False
                return
            except OSError as exc:  # disk full or read-only: they stay in memory, compact
                if not self.file_failing:
                    log.warning("cannot spool %d results to %s: %s; keeping them in memory",
                                len(self.overflow) + len(lines), self.path, exc.strerror)
                self.file_failing = True
        self.overflow.extend(lines)
        self.overflow_size += sum(len(s) for s in lines)

    def _append(self, text: str) -> None:
        """All of ``text`` or nothing: a write cut short by a full disk is truncated
        away, so the file never holds half a line before the next append."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as f:
            size = f.tell()
            if size:  # a crash cut the last line short: it stays one bad line, not two
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    text = "\n" + text
            try:
                f.write(text.encode())
                f.flush()
                os.fsync(f.fileno())
            except OSError:
                f.truncate(size)
                raise

    async def drain(self, write: Callable[[list[NewResult]], Awaitable[None]]) -> int:
        """Write everything kept, oldest first, a chunk at a time; stops at the
        first failure (raised) with the rest still kept. Returns rows written."""
        written = 0
        if self._file_has_rows():
            offset = self._offset()
            with self.path.open("r", encoding="utf-8") as f:
                f.seek(offset)
                while lines := [line for line in (f.readline() for _ in range(CHUNK)) if line]:
                    written += await self._write_lines(write, lines)
                    self._set_offset(f.tell())
            self.path.unlink()
            self.offset_path.unlink(missing_ok=True)
        while self.overflow:
            lines = self.overflow[:CHUNK]
            written += await self._write_lines(write, lines)
            del self.overflow[:len(lines)]
            self.overflow_size -= sum(len(s) for s in lines)
        while self.backlog:
            chunk = self.backlog[:CHUNK]
            await write(chunk)
            del self.backlog[:len(chunk)]
            written += len(chunk)
        return written

    async def _write_lines(self, write, lines: list[str]) -> int:
        rows = [r for r in map(load, lines) if r is not None]
        if len(rows) < len(lines):
            log.error("%d unreadable lines in %s skipped", len(lines) - len(rows), self.path)
            self.dropped += len(lines) - len(rows)
        if rows:
            await write(rows)
        return len(rows)
