"""Probe results that could not be written yet: kept, in order, and written
once when the database is back, so a service that failed during a database
blip still leaves its trace (and opens its incident with the right
``started_at``).

Oldest first: an append-only file (``SLAWATCH_DATA_DIR/results.spool``,
JSON lines), then the in-memory backlog (at most ``MEMORY_ROWS``; beyond it the
oldest rows move to the file). Drained in chunks, each committed before it
leaves the spool; the file's read position is kept beside it
(``results.spool.offset``, written after each committed chunk), so a crash in
the middle neither loses nor repeats a chunk."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from app.storage.tables import ProbeResultRow

log = logging.getLogger("slawatch.worker")
MEMORY_ROWS = 50_000
CHUNK = 500
FIELDS = ("target_id", "location", "started_at", "ok", "error", "duration_seconds", "phases", "detail",
          "rejected", "skipped")


def dump(row: ProbeResultRow) -> str:
    d = {f: getattr(row, f) for f in FIELDS}
    d["started_at"] = row.started_at.isoformat()
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def load(line: str) -> ProbeResultRow:
    d = json.loads(line)
    d["started_at"] = datetime.fromisoformat(d["started_at"])
    return ProbeResultRow(**d)


class Spool:
    def __init__(self, folder: Path | None, memory_rows: int = MEMORY_ROWS):
        self.path = Path(folder) / "results.spool" if folder is not None else None
        self.offset_path = self.path.with_name("results.spool.offset") if self.path is not None else None
        self.memory_rows = memory_rows
        self.backlog: list[ProbeResultRow] = []

    def __len__(self) -> int:
        return len(self.backlog) + (1 if self._file_has_rows() else 0)

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

    def keep(self, rows: list[ProbeResultRow]) -> None:
        """Rows that could not be written, older than anything kept after them."""
        self.backlog.extend(rows)
        if len(self.backlog) > self.memory_rows:
            self._to_file(len(self.backlog) - self.memory_rows // 2)

    def persist(self) -> None:
        """Everything in memory to the file (at shutdown with the database down)."""
        self._to_file(len(self.backlog))

    def _to_file(self, n: int) -> None:
        if self.path is not None and n > 0:
            move = self.backlog[:n]
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write("".join(dump(r) + "\n" for r in move))
                    f.flush()
                    os.fsync(f.fileno())
                del self.backlog[:len(move)]
            except OSError as exc:  # disk full too: they stay in memory, and the log says so once per try
                log.warning("cannot spool %d results to %s: %s", len(move), self.path, exc.strerror)

    async def drain(self, write: Callable[[list[ProbeResultRow]], Awaitable[None]]) -> int:
        """Write everything kept, oldest first, a chunk at a time; stops at the
        first failure (raised) with the rest still kept. Returns rows written."""
        written = 0
        if self._file_has_rows():
            offset = self._offset()
            with self.path.open("r", encoding="utf-8") as f:
                f.seek(offset)
                while True:
                    lines = [line for line in (f.readline() for _ in range(CHUNK)) if line]
                    if not lines:
                        break
                    await write([load(line) for line in lines])
                    offset = f.tell()
                    self._set_offset(offset)
                    written += len(lines)
            self.path.unlink()
            self.offset_path.unlink(missing_ok=True)
        while self.backlog:
            chunk = self.backlog[:CHUNK]
            await write(chunk)
            del self.backlog[:len(chunk)]
            written += len(chunk)
        return written
