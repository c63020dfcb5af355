"""The ticket loop inside ``slawatch run``: find events in every contract's live
state, file them in the outbox, deliver what is pending."""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import replace
from datetime import datetime, timezone

from sqlmodel import select

from app.auth.vault import Vault
from app.calendars.base import CalendarError
from app.live import ContractState, LiveState, escalation_of
from app.notify.registry import contract_channels, team_channels
from app.oncall.rota import paged
from app.pause import stopped_within
from app.storage.locks import Leadership
from app.storage.tables import IncidentRow, TicketRow
from app.tickets.events import (
    escalation_events,
    evaluation_error_events,
    ledger_events,
    major_events,
    termination_events,
    window_events,
)
from app.tickets.outbox import deliver, file, unfiled
from app.tickets.senders import sinks_from

log = logging.getLogger("slawatch.tickets")


class TicketLoop:
    def __init__(self, live: LiveState, sessions, settings, leadership: Leadership | None = None,
                 vault: Vault | None = None):
        self.live, self.sessions, self.settings = live, sessions, settings
        self.vault = vault if vault is not None else Vault([])  # opens a contract's webhook secret
        self.leadership = leadership
        self.sinks: dict[str, list] = {}  # contract id → its sinks
        self.backoff: dict = {}  # (ticket, sink) → (next try, wait): a failing sink waits, others do not
        self.filed: set[str] | None = None  # ticket keys known filed (loaded at the first round)
        self.said: dict[str, tuple] = {}  # contract → (the state, its events)
        self.seen: dict[str, ContractState] = {}  # contract → the state the last round looked at
        self.again: set[str] = set()  # contracts with claims' tickets held back for the next round

    def _policy(self, contract):
        """The contract's ticket settings with their secrets (webhook, robots) opened."""
        policy = contract.tickets
        if policy is not None and (policy.webhook_secret or policy.channels):
            policy = type(policy).model_validate(self.vault.unseal(policy.model_dump(mode="json")))
        return policy

    async def once(self) -> None:
        snapshot = await self.live.current(max_age=self.settings.ticket_interval_seconds)
        # only states evaluated since the last round can say something new (plus ledger deadlines,
        # which move with time, and contracts whose claims were held back): at 10,000 contracts a
        # round that walked them all held the probes' loop for a quarter of a second
        todo = [st for cid, st in snapshot.states.items()
                if self.seen.get(cid) is not st or cid in self.again or (st.book and st.book.get("deadlines"))]
        for cid in set(self.seen) - set(snapshot.states):
            self.seen.pop(cid, None)
            self.said.pop(cid, None)
        self.again = set()
        async with self.sessions() as db:
            if self.filed is None:  # every ticket ever filed, once: a round then asks the database only for news
                self.filed = set((await db.exec(select(TicketRow.id))).all())
            link = self.settings.public_url.rstrip("/")
            claims = await self._claims(db, [st.contract_id for st in todo])
            for st in todo:
                self.seen[st.contract_id] = st
                policy = self._policy(st.case.contract)
                self.sinks[st.contract_id] = (sinks_from(self.settings, policy) + self._team_sinks(policy, st.template)
                                              + contract_channels(policy))
                if st.error is not None:  # one contract never stops the others: it files why
                    events = evaluation_error_events(st.contract_id, *st.error)
                else:
                    events = self._events(st, policy, snapshot.at)
                events = [e for e in events if e.key not in self.filed]
                if claims and events:  # customers' claims file at most one new ticket per contract per round
                    theirs = [e for e in events if e.incident_id in claims]
                    waiting = await unfiled(db, theirs)
                    if len(waiting) > 1:
                        self.again.add(st.contract_id)  # the rest next round
                    events = [e for e in events if e.incident_id not in claims] + waiting[:1]
                # held back while the contract could not be evaluated: filed now, once each (keys)
                await file(db, st.row, [self._addressed(e, policy, st.template) for e in events], link)
                self.filed |= {e.key for e in events}  # filed now, or by another sender before
            default = sinks_from(self.settings)
            await deliver(db, lambda contract_id: self.sinks.get(contract_id, default), self.backoff)

    def _team_sinks(self, policy, template) -> list:
        """The robots of the team this contract escalates to, when the rota gives it some."""
        if self.live.rules.oncall is None:
            return []
        esc = escalation_of(policy, template)
        return team_channels(self.live.rules.oncall, esc.team if esc else None, os.environ)

    def _addressed(self, e, policy, template):
        """A page (escalation, reminder) with the people the rota names now."""
        if e.kind not in ("escalation", "still_open"):
            return e
        rules = self.live.rules
        esc = escalation_of(policy, template)
        team = esc.team if esc is not None else None
        try:
            people = paged(rules.oncall, rules.schedule, team, e.payload["to"], datetime.now(timezone.utc))
        except CalendarError:  # no schedule for the year: the channels' own mentions still apply
            people = []
        return replace(e, payload={**e.payload, "page_to": [p.model_dump(exclude_none=True) for p in people]})

    @staticmethod
    async def _claims(db, contract_ids: list[str]) -> set[str]:
        """The customers' claims among these contracts' incidents."""
        out: set[str] = set()
        for i in range(0, len(contract_ids), 500):
            out |= set((await db.exec(select(IncidentRow.id).where(
                IncidentRow.source == "claim", IncidentRow.contract_id.in_(contract_ids[i:i + 500])))).all())
        return out

    def _events(self, st: ContractState, policy, at) -> list:
        """The events a state says; the same state object (not evaluated again since)
        says the same, so they are kept with it — but for deadlines, which move with time."""
        cached = self.said.get(st.contract_id)
        if cached is None or cached[0] is not st:
            incidents = [{"id": i.id, "category": i.category, "severity": i.severity,
                          "started_at": i.started_at.isoformat(), "acknowledged": i.acknowledged_at is not None,
                          "status": "resolved" if i.resolved_at is not None else "open"} for i in st.case.incidents]
            right = st.report.termination_right.to_json(st.report.tz)  # a ticket carries the report's words
            windows = st.windows_json()
            escalation = escalation_of(policy, st.template)
            cached = self.said[st.contract_id] = (
                st, window_events(windows, st.warn) + major_events(incidents)
                + termination_events(st.contract_id, right)
                + escalation_events(windows, incidents, escalation, st.case.at.timestamp()))
        deadlines = ledger_events(st.contract_id, st.book["deadlines"], at.timestamp()) if st.book else []
        return cached[1] + deadlines

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
            await stopped_within(stop, self.settings.ticket_interval_seconds)
        if self.leadership is not None:
            await self.leadership.close()
