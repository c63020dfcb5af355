"""Planned maintenance (issue 19): ``POST/GET/DELETE /v1/maintenance`` (staff write;
a customer reads their own), ``GET /v1/maintenance.ics`` for a calendar to
subscribe to, ``POST /v1/maintenance/import`` of a vendor's .ics. The engine
decides per contract whether a window excludes (announced before it began, within
``maintenance_max``); each contract it concerns is re-evaluated at once."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel

from app.api.deps import Caller, Db, not_found, require
from app.auth.service import Principal
from app.contracts.types import Ident, Instant
from app.maintenance.ics import IcsError, from_ics, to_ics
from app.maintenance.schema import MaintenanceIn
from app.maintenance.store import ScopeError, contracts_of, row_for, visible
from app.storage.tables import MaintenanceWindowRow

router = APIRouter(prefix="/v1", tags=["maintenance"])
STAFF = require("admin", "noc")
ICS_BYTES = 1024 * 1024  # a vendor's maintenance calendar, not an archive
ICS_EVENTS = 500


class MaintenanceOut(BaseModel):
    id: str
    contract_id: str | None
    target_id: str | None
    customer_id: str | None
    starts_at: datetime
    ends_at: datetime
    rrule: str | None
    announced_at: datetime | None
    channel: str | None
    note: str | None
    source: str
    created_at: datetime


class Imported(BaseModel):
    windows: list[MaintenanceOut]


def _changed(request: Request, contract_ids: list[str]) -> None:
    for cid in contract_ids:
        request.app.state.live.invalidate(cid)


async def _store(db, request: Request, rows: list[MaintenanceWindowRow]) -> None:
    touched = []
    for row in rows:
        await db.merge(row)
        touched += await contracts_of(db, row)
    await db.commit()
    _changed(request, touched)


@router.post("/maintenance", response_model=MaintenanceOut, status_code=201)
async def create(body: MaintenanceIn, request: Request, db: Db, who: Principal = Depends(STAFF)):
    if await db.get(MaintenanceWindowRow, body.id) is not None:
        raise HTTPException(409, f"id: maintenance window {body.id!r} exists (DELETE it first)")
    try:
        row = await row_for(db, body, "api", f"{who.role}:{who.token_id}")
    except ScopeError as exc:
        raise HTTPException(422, str(exc)) from None
    await _store(db, request, [row])
    return row


@router.get("/maintenance", response_model=list[MaintenanceOut])
async def listing(db: Db, who: Caller, contract_id: Ident | None = None, customer_id: Ident | None = None):
    return await visible(db, who, contract_id, customer_id)


@router.get("/maintenance.ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}, "description": "RFC 5545 calendar"}})
async def calendar(db: Db, who: Caller, customer_id: Ident | None = None,
                   tz: str = Query("Asia/Shanghai", max_length=64)) -> Response:
    """The windows ``who`` sees (a customer's own), recurring ones with their RRULE,
    times in ``tz`` (a recurring rule runs in the contracts' zone)."""
    try:
        zone = ZoneInfo(tz)
    except (ValueError, KeyError):
        raise HTTPException(422, f"tz: unknown time zone {tz!r}") from None
    rows = await visible(db, who, None, customer_id)
    return Response(to_ics(rows, who.customer_id or customer_id or "all", zone),
                    media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "no-store"})


async def _seen(db, who, window_id: str) -> MaintenanceWindowRow:
    row = await db.get(MaintenanceWindowRow, window_id)
    if row is None or (who.is_customer and row not in await visible(db, who)):
        raise not_found("maintenance window", window_id)  # another customer's is not there for them
    return row


@router.get("/maintenance/{window_id}", response_model=MaintenanceOut)
async def one(window_id: Ident, db: Db, who: Caller):
    return await _seen(db, who, window_id)


@router.delete("/maintenance/{window_id}", status_code=204, response_class=Response)
async def remove(window_id: Ident, request: Request, db: Db, who: Caller) -> Response:
    row = await _seen(db, who, window_id)
    if who.role not in ("admin", "noc"):
        raise HTTPException(403, "this needs the admin or noc role")
    if row.source == "yaml":
        raise HTTPException(409, f"{window_id!r} is defined in sla_rules/maintenance/: remove it there")
    touched = await contracts_of(db, row)
    await db.delete(row)
    await db.commit()
    _changed(request, touched)
    return Response(status_code=204)


@router.post("/maintenance/import", response_model=Imported)
async def import_ics(request: Request, db: Db, who: Principal = Depends(STAFF),
                     contract_id: Ident | None = None, target_id: Ident | None = None,
                     customer_id: Ident | None = None, announced_at: Instant | None = None):
    """A vendor's maintenance calendar (the body, ``text/calendar``): each VEVENT a
    window of the given scope; its UID is its id, so a second import replaces."""
    data = await request.body()
    if len(data) > ICS_BYTES:
        raise HTTPException(413, f"body: larger than {ICS_BYTES} bytes")
    scope = {k: v for k, v in (("contract_id", contract_id), ("target_id", target_id),
                               ("customer_id", customer_id)) if v is not None}
    try:
        windows = from_ics(data, scope, announced_at, ICS_EVENTS)
        rows = [await row_for(db, w, "ics", f"{who.role}:{who.token_id}") for w in windows]
    except (IcsError, ScopeError) as exc:
        raise HTTPException(422, str(exc)) from None
    for row in rows:
        old = await db.get(MaintenanceWindowRow, row.id)
        if old is not None and old.source != "ics":
            raise HTTPException(409, f"{row.id}: the id belongs to a window not imported from iCalendar")
    await _store(db, request, rows)
    return {"windows": rows}
