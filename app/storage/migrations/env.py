"""Alembic environment: uses the connection or engine slawatch hands in."""
import asyncio

from alembic import context
from sqlmodel import SQLModel

import app.storage.tables  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = context.config.attributes["engine"]

    async def main():
        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()  # its connections belong to this short-lived loop

    asyncio.run(main())
