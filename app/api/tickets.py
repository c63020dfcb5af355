"""``GET /v1/tickets`` (with delivery state) and a manual retry of a failed one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlmodel import select

from app.api import schemas as S
from app.api.deps import Caller, Db, not_found, require
from app.auth.service import Principal
from app.storage.tables import TicketRow
from app.tickets.outbox import public

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


@router.get("", response_model=S.Tickets)
async def list_tickets(*, state: str | None = None, contract: str | None = None,
                       limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
                       who: Caller, db: Db) -> dict:
    q = select(TicketRow).order_by(TicketRow.created_at.desc())
    if who.is_customer:
        q = q.where(TicketRow.customer_id == who.customer_id)
    rows = [r for r in (await db.exec(q)).all()
            if (state is None or r.state == state) and (contract is None or r.contract_id == contract)]
    return {"items": [shown(r, who) for r in rows[offset:offset + limit]], "total": len(rows)}


STAFF_ONLY = ("ack_link", "_answers")  # an ack link acknowledges as staff; answers are the channels' words


def shown(row: TicketRow, who) -> dict:
    out = public(row)
    if who.is_customer:
        out["payload"] = {k: v for k, v in out["payload"].items() if k not in STAFF_ONLY}
    return out


notifications = APIRouter(prefix="/v1/notifications", tags=["tickets"])


@notifications.get("", response_model=S.Notifications)
async def list_notifications(*, db: Db, limit: int = Query(100, ge=1, le=500),
                             who: Principal = Depends(require("admin", "noc"))) -> dict:
    """What was sent where, newest first: each ticket's channels with their last answer."""
    rows = (await db.exec(select(TicketRow).order_by(TicketRow.created_at.desc()).limit(limit))).all()
    items = [{"ticket_id": r.id, "kind": r.kind, "contract_id": r.contract_id, "incident_id": r.incident_id,
              "channel": channel, "delivered": channel in r.payload.get("_delivered", []), "answer": answer,
              "state": r.state, "created_at": r.created_at.isoformat(),
              "sent_at": r.sent_at.isoformat() if r.sent_at else None}
             for r in rows for channel, answer in sorted(r.payload.get("_answers", {}).items())]
    return {"items": items, "total": len(items)}


@router.post("/{ticket_id}/retry", response_model=S.Ticket)
async def retry(*, ticket_id: str, who: Caller, db: Db) -> dict:
    row = await db.get(TicketRow, ticket_id)
    if row is None or not who.sees(row.customer_id):
        raise not_found("ticket", ticket_id)
    if who.role not in ("admin", "noc"):
        raise HTTPException(403, "this needs the admin or noc role")
    if row.state == "sent":
        raise HTTPException(409, f"ticket {ticket_id!r} was delivered already")
    row.state, row.attempts = "pending", 0
    db.add(row)
    await db.commit()
    return shown(row, who)
