"""SMS delivery reports across processes. A gateway reports to the API's
webhook, but with ``slawatch api`` + ``slawatch worker`` the probe waiting for
that report runs in a worker: the API relays what no local probe waited for
through PostgreSQL ``NOTIFY``, and every worker ``LISTEN``s and completes its
own probe. Nonces are 128-bit random, so a report reaches only its probe."""
from __future__ import annotations

import json
import logging

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.storage.db import autocommit, is_shared
from probes.sms_delivery import DELIVERIES

log = logging.getLogger("slawatch.sms")
CHANNEL = "slawatch_sms"
MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8,000 bytes and more


class Relay:
    """The API side: publish a report no probe in this process waited for."""

    def __init__(self, engine: AsyncEngine):
        self.engine = autocommit(engine)  # the NOTIFY is delivered at once

    async def publish(self, params: dict[str, str], source: str | None) -> bool:
        payload = json.dumps({"params": params, "source": source}, ensure_ascii=False)
        if len(payload.encode()) > MAX_PAYLOAD:
            return False
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})
        return True


def relay_for(engine: AsyncEngine) -> Relay | None:
    """Only PostgreSQL has workers to relay to; the embedded SQLite service is one process."""
    return Relay(engine) if is_shared(engine) else None


async def listen(database_url: str) -> asyncpg.Connection:
    """The worker side: a connection of its own that completes waiting probes; close it to stop."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)

    def report(_conn, _pid, _channel, payload: str) -> None:
        try:
            relayed = json.loads(payload)
            DELIVERIES.report_params(relayed["params"], relayed["source"])
        except (ValueError, AttributeError, KeyError, TypeError):
            log.warning("a malformed SMS delivery report was relayed (%d bytes)", len(payload))

    await conn.add_listener(CHANNEL, report)
    return conn
