"""The outbox: events become ticket rows (once, by key) in the same transaction
that sees them; senders deliver pending rows and mark them sent. A crash between
sending and marking resends the same key and Message-ID, never a new event."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.incidents.service import record_page
from app.notify.registry import CHANNELS
from app.portal.tokens import create_ack, create_view
from app.storage.tables import ContractRow, TicketRow
from app.tickets.events import TicketEvent

log = logging.getLogger("slawatch.tickets")
MAX_ATTEMPTS = 50
SEND_SECONDS = 10.0  # one ticket to one sink, whole send
MAX_BACKOFF = 300.0


def public(row: TicketRow) -> dict:
    return {"id": row.id, "kind": row.kind, "contract_id": row.contract_id, "customer_id": row.customer_id,
            "incident_id": row.incident_id, "window": row.window, "payload": row.payload, "state": row.state,
            "attempts": row.attempts, "last_error": row.last_error, "created_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None}


async def unfiled(db: AsyncSession, events: list[TicketEvent]) -> list[TicketEvent]:
    """The events that have no ticket yet."""
    if not events:
        return []
    known = set((await db.exec(select(TicketRow.id).where(TicketRow.id.in_([e.key for e in events])))).all())
    return [e for e in events if e.key not in known]


ACKNOWLEDGEABLE = frozenset({"window_breached", "window_warning", "major_incident", "escalation", "still_open"})


async def file(db: AsyncSession, contract: ContractRow | None, events: list[TicketEvent], link_base: str) -> list[str]:
    """File the new ones of ``events`` for ``contract`` (None: the operator's own,
    sent to the global sinks), one row each, keyed by the event."""
    if not events:
        return []
    keys = [e.key for e in events]
    known = set((await db.exec(select(TicketRow.id).where(TicketRow.id.in_(keys)))).all())
    new = []
    for e in events:
        if e.key in known:
            continue
        # the page (staff sign in), the API's record, and a read-only page for the customer
        view = await create_view(db, contract.customer_id, contract.id) if contract is not None else None
        paged = e.payload.get("page_to") or []
        ack = (await create_ack(db, e.incident_id, paged[0]["id"] if len(paged) == 1 else None)
               if e.incident_id and e.kind in ACKNOWLEDGEABLE else None)
        cid, customer = (contract.id, contract.customer_id) if contract is not None else (None, None)
        payload = {"contract": cid, "customer": customer, "incident": e.incident_id,
                   "window": e.window, **e.payload,
                   "link": f"{link_base}/portal/contracts/{cid}" if cid else e.payload.get("link"),
                   "api": f"{link_base}/v1/incidents/{e.incident_id}" if e.incident_id else
                   f"{link_base}/v1/contracts/{cid}/credits" if cid else e.payload.get("api"),
                   "customer_link": f"{link_base}/portal/view/{view}" if view else None,
                   "ack_link": f"{link_base}/portal/ack/{ack}" if ack else None}
        db.add(TicketRow(id=e.key, kind=e.kind, contract_id=cid, customer_id=customer,
                         incident_id=e.incident_id, window=e.window, payload=payload))
        known.add(e.key)
        new.append(e.key)
    await db.commit()
    for e in events:
        if e.key in new:
            what = f"incident {e.incident_id} window {e.window}" if e.window else (e.incident_id or cid)
            log.info("TICKET %s filed: %s, %s (%s)", e.kind, cid or "operator", what, e.payload.get("deadline")
                     or e.payload.get("since") or e.payload.get("started_at") or "")
    return new


async def _send(sink, t: dict) -> tuple[str | None, str]:
    """One ticket to one sink, bounded in time: (the error or None, what the sink answered)."""
    try:
        async with asyncio.timeout(SEND_SECONDS):
            answer = await sink.send(t)
        return None, str(answer or "ok")[:200]
    except TimeoutError:
        error = f"{sink.name}: no answer within {SEND_SECONDS:.0f} s"
    except Exception as exc:  # noqa: BLE001 - a sink being down is the normal case to survive
        error = f"{sink.name}: {exc}"[:500]
    return error, error


def _record(row: TicketRow, done: set[str], sends, backoff: dict, now: float) -> bool:
    """One ticket's sends of this round on its row; True when every sink has it now."""
    errors = []
    answers = dict(row.payload.get("_answers", {}))  # each sink's last answer (GET /v1/notifications)
    for sink, task in sends:
        error, answers[sink.name] = task.result()
        if error is None:
            done.add(sink.name)
            backoff.pop((row.id, sink.name), None)
        else:
            errors.append(error)
            wait = min(backoff.get((row.id, sink.name), (0, 1))[1] * 2, MAX_BACKOFF)
            backoff[(row.id, sink.name)] = (now + wait, wait)
    row.payload = {**row.payload, "_delivered": sorted(done), "_answers": answers}
    row.attempts += 1
    if not errors:
        row.state, row.sent_at, row.last_error = "sent", datetime.now(timezone.utc), None
        return True
    row.last_error = "; ".join(errors)[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.state = "failed"
    return False


# basis: policy — a burst (10,000 contracts breaching at once) goes out over several rounds
# instead of one round that loads, sends and writes them all while the probes wait
DELIVER_BATCH = 500


async def deliver(db: AsyncSession, sinks_for, backoff: dict | None = None, batch: int = DELIVER_BATCH) -> int:
    """Send the oldest ``batch`` pending tickets to every sink (``sinks_for(contract_id)``)
    each has not reached yet — all at once, each send bounded by ``SEND_SECONDS``, so a hung sink
    delays only its own tickets. A (ticket, sink) that failed waits ``backoff`` before
    its next try (doubling, at most ``MAX_BACKOFF``). Cancelled (shutdown), the rows
    stay pending and are sent again under the same key."""
    backoff = backoff if backoff is not None else {}
    now = time.monotonic()
    # tickets whose sink is waiting out its backoff do not hold a batch's places from the others
    waiting = sorted({key[0] for key, (at, _) in backoff.items() if at > now})[:5000]
    q = select(TicketRow).where(TicketRow.state == "pending")
    rows = list((await db.exec((q.where(TicketRow.id.not_in(waiting)) if waiting else q)
                               .order_by(TicketRow.created_at).limit(batch))).all())
    plan = []  # (row, [(sink, task)])
    for row in rows:
        done = set(row.payload.get("_delivered", []))
        sinks = sinks_for(row.contract_id)
        due = [s for s in sinks if s.name not in done and backoff.get((row.id, s.name), (0, 0))[0] <= now]
        if due or all(s.name in done for s in sinks):  # every sink reached before a crash: mark it sent
            t = public(row)
            plan.append((row, done, [(s, asyncio.ensure_future(_send(s, t))) for s in due]))
    try:
        await asyncio.gather(*(task for _, _, sends in plan for _, task in sends))
    finally:
        for _, _, sends in plan:
            for _, task in sends:
                task.cancel()
    sent = 0
    for row, done, sends in plan:
        sent += _record(row, done, sends, backoff, now)
        db.add(row)
        # every on-duty message that went out is on the incident's timeline, with the channel's answer
        paged = {s.name: row.payload["_answers"][s.name] for s, task in sends
                 if s.name.split(":")[0] in CHANNELS and task.result()[0] is None
                 and not row.payload["_answers"][s.name].startswith("skipped:")}
        if paged and row.incident_id:
            await record_page(db, row.incident_id, "; ".join(f"{k}: {v}" for k, v in sorted(paged.items())),
                              {"ticket": row.id, "channels": sorted(paged)})
    await db.commit()
    return sent
