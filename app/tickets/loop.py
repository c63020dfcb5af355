"""The ticket loop inside ``slawatch run``: find events in every contract's live
state, file them in the outbox, deliver what is pending."""
from __future__ import annotations

import asyncio
import logging
import zlib
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from app.auth.vault import Vault
from app.contracts.errors import CaseError
from app.evaluation.engine import evaluate, live_windows
from app.evaluation.health import EvaluationErrors, template_of
from app.incidents.cases import all_cases
from app.ledger.engine import ledger
from app.ledger.models import LedgerCase
from app.ledger.store import all_billing
from app.storage.db import autocommit
from app.storage.tables import ContractRow, IncidentRow
from app.tickets.events import (
    evaluation_error_events,
    ledger_events,
    major_events,
    termination_events,
    window_events,
)
from app.tickets.outbox import deliver, file, unfiled
from app.tickets.senders import sinks_from

log = logging.getLogger("slawatch.tickets")


class Leadership:
    """One ticket sender among several API processes on PostgreSQL: the holder of
    an advisory lock (per schema), kept on a connection of its own, so it passes
    to another process when the holder dies. SQLite is one process: always held."""

    def __init__(self, engine: AsyncEngine, schema: str | None):
        self.engine, self.conn = autocommit(engine), None  # the held connection idles outside a transaction
        self.key = zlib.crc32(f"slawatch-tickets:{schema or 'public'}".encode())

    async def held(self) -> bool:
        if self.engine.dialect.name != "postgresql":
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


class TicketLoop:
    def __init__(self, sessions, rules, settings, leadership: Leadership | None = None,
                 errors: EvaluationErrors | None = None, vault: Vault | None = None):
        self.sessions, self.rules, self.settings = sessions, rules, settings
        self.vault = vault if vault is not None else Vault([])  # opens a contract's webhook secret
        self.errors = errors if errors is not None else EvaluationErrors()
        self.leadership = leadership
        self.sinks: dict[str, list] = {}  # contract id → its sinks
        self.backoff: dict = {}  # (ticket, sink) → (next try, wait): a failing sink waits, others do not

    def warn_ratio(self, policy) -> float | None:
        pct = policy.warn_percent if policy is not None and policy.warn_percent is not None \
            else self.settings.ticket_warn_percent
        return pct / 100 if pct else None

    async def once(self) -> None:
        now = datetime.now(timezone.utc)
        async with self.sessions() as db:
            rows = list((await db.exec(select(ContractRow))).all())
            cases = await all_cases(await db.connection(), rows, now)  # one query, not one per contract
            billing = await all_billing(db)
            link = self.settings.public_url.rstrip("/")
            claims = set((await db.exec(select(IncidentRow.id).where(IncidentRow.source == "claim"))).all())
            for row in rows:
                case = cases[row.id]
                policy = case.contract.tickets
                if policy is not None and policy.webhook_secret:
                    policy = policy.model_copy(update={"webhook_secret": self.vault.unseal(
                        {"webhook_secret": policy.webhook_secret})["webhook_secret"]})
                self.sinks[row.id] = sinks_from(self.settings, policy)
                try:
                    template = template_of(self.rules, case.contract)
                    windows = live_windows(case, template, self.rules.schedule)
                    report = evaluate(case, template, self.rules.schedule)
                except Exception as exc:  # noqa: BLE001 - one contract never stops the others: it files why
                    reason, message = self.errors.failed(row.id, exc)
                    await file(db, row, evaluation_error_events(row.id, reason, message), link)
                    continue
                self.errors.ok(row.id)
                incidents = [{"id": i.id, "category": i.category, "severity": i.severity,
                              "started_at": i.started_at.isoformat(),
                              "status": "resolved" if i.resolved_at is not None else "open"} for i in case.incidents]
                events = (window_events(windows, self.warn_ratio(policy)) + major_events(incidents)
                          + termination_events(row.id, report["termination_right"])
                          + self._ledger(row.id, case.contract, template, now, billing[row.id]))
                if claims:  # customers' claims file at most one new ticket per contract per round
                    theirs = [e for e in events if e.incident_id in claims]
                    events = [e for e in events if e.incident_id not in claims] + (await unfiled(db, theirs))[:1]
                # held back while the contract could not be evaluated: filed now, once each (keys)
                await file(db, row, events, link)
            default = sinks_from(self.settings)
            await deliver(db, lambda contract_id: self.sinks.get(contract_id, default), self.backoff)

    def _ledger(self, contract_id, contract, template, now, billing):
        invoices, storage, notices = billing
        try:
            book = ledger(LedgerCase(contract=contract, invoices=invoices, storage=storage, notices=notices, at=now),
                          template)
        except CaseError:  # a rule's input is missing (e.g. no term): nothing to remind of
            return []
        return ledger_events(contract_id, book["deadlines"], now.timestamp())

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if self.leadership is None or await self.leadership.held():
                    # a shutdown does not wait for a round: in-flight sends are cancelled and
                    # their tickets stay pending, sent again under the same key next time
                    round_ = asyncio.ensure_future(self.once())
                    stopping = asyncio.ensure_future(stop.wait())
                    await asyncio.wait([round_, stopping], return_when=asyncio.FIRST_COMPLETED)
                    stopping.cancel()
                    if not round_.done():
                        round_.cancel()
                        await asyncio.gather(round_, return_exceptions=True)
                        break
                    round_.result()
            except Exception:  # the next round retries
                log.exception("ticket round failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.ticket_interval_seconds)
            except TimeoutError:
                pass
        if self.leadership is not None:
            await self.leadership.close()
