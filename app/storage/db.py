"""The async engine and sessions, and migrations (Alembic) applied at start."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


BUSY_SECONDS = 5.0  # SQLite: how long a write waits for a lock — below the worker's 10 s write bound


def make_engine(url: str, schema: str | None = None, busy_seconds: float = BUSY_SECONDS) -> AsyncEngine:
    kwargs: dict = {}
    if url.startswith("postgresql") and schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": busy_seconds}
    # an error never carries the statement's parameters into a log (target passwords, tokens)
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_cache)
    return engine


SQLITE_CACHE_KB = 65536  # basis: policy — 64 MB of pages per connection instead of SQLite's 2 MB


def _sqlite_cache(dbapi_connection, _record) -> None:
    """A month of results is millions of rows: with SQLite's default 2 MB page cache,
    each batch of inserts read its index pages from the OS again (CPU per probe 1.26×
    that of an empty database, benchmarks/whole.py)."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
    cursor.close()


def is_shared(target: AsyncEngine | str) -> bool:
    """The one place that asks "is this PostgreSQL": a database several processes
    share (leases, an advisory lock for the ticket sender, LISTEN/NOTIFY, COPY);
    SQLite is one process's own."""
    name = target if isinstance(target, str) else target.dialect.name
    return name.startswith("postgresql")


async def rows_of(conn: AsyncConnection, statement, params: dict | None = None, chunk: int = 500) -> list:
    """Every row of ``statement``, fetched ``chunk`` rows at a time: turning rows into
    Python values runs on the event loop, and 10,000 rows at once held the probes
    for a fifth of a second; between chunks they run."""
    out: list = []
    result = await conn.stream(statement, params or {})
    async for part in result.partitions(chunk):
        out += part
        await asyncio.sleep(0)
    return out


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """Each statement its own transaction: a read is one round trip (no BEGIN before
    it, no ROLLBACK after), a NOTIFY is delivered at once, and a connection held
    for an advisory lock idles outside any transaction."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def alembic_config(engine: AsyncEngine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: AsyncEngine) -> None:
    """Apply every migration (sync caller: runs its own event loop)."""
    command.upgrade(alembic_config(engine), "head")


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()  # type: ignore[arg-type]


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
