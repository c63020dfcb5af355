"""One ticket sender among several API processes on PostgreSQL: the holder of an
advisory lock. SQLite is one process: always held."""
from __future__ import annotations

import logging
import zlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.storage.db import autocommit, is_shared

log = logging.getLogger("slawatch.tickets")


class Leadership:
    """One ticket sender among several API processes on PostgreSQL: the holder of
    an advisory lock (per schema), kept on a connection of its own, so it passes
    to another process when the holder dies. SQLite is one process: always held."""

    def __init__(self, engine: AsyncEngine, schema: str | None):
        self.engine, self.conn = autocommit(engine), None  # the held connection idles outside a transaction
        self.key = zlib.crc32(f"slawatch-tickets:{schema or 'public'}".encode())

    async def held(self) -> bool:
        if not is_shared(self.engine):
            return True
        if self.conn is not None:
            try:
                await self.conn.scalar(text("SELECT 1"))  # still connected: still the holder
                return True
            except Exception:  # noqa: BLE001 - connection gone, the lock with it
                log.warning("lost the ticket sender's lock; trying to take it again")
                self.conn = None
        conn = await self.engine.connect()
        if await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}):
            self.conn = conn
            log.info("this process sends the tickets (PostgreSQL advisory lock %d)", self.key)
            return True
        await conn.close()
        return False

    async def close(self) -> None:
        if self.conn is not None:
            try:  # a pooled connection outlives close(): give the lock back explicitly
                await self.conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            finally:
                await self.conn.close()
                self.conn = None
