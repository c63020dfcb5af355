"""A fresh PostgreSQL schema with every migration applied, dropped afterwards:
``async with fresh_schema("ret") as engine: …`` (127.0.0.1:5432, database test)."""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.storage.db import make_engine, upgrade

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def fresh_schema(prefix: str) -> AsyncIterator[AsyncEngine]:
    schema = f"{prefix}_{os.getpid()}"
    admin = make_engine(PG)
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await asyncio.to_thread(upgrade, make_engine(PG, schema))
    engine = make_engine(PG, schema)
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
