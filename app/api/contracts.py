"""Contracts and their live credits: the same report as ``slawatch evaluate``,
computed from stored incidents."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from decimal import Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.deps import not_found, principal, require, session
from app.auth.service import Principal
from app.contracts.models import Case, Contract
from app.contracts.service import (
    contract_of, get_visible_contract, read_visible_contract, save_contract, visible_contracts,
)
from app.contracts.types import parse_month
from app.evaluation.service import evaluate_case
from app.incidents.service import case_incident, state_of
from app.money import fmt
from app.storage.tables import ContractRow, Customer, IncidentEvent, IncidentRow, TargetRow

router = APIRouter(prefix="/v1", tags=["contracts"])


def now() -> datetime:
    return datetime.now(timezone.utc)


def current_period(contract: Contract, at: datetime) -> str:
    local = at.astimezone(ZoneInfo(contract.timezone))
    return f"{local.year:04d}-{local.month:02d}"


def check_period(period: str | None) -> None:
    if period is not None:
        try:
            parse_month(period)
        except ValueError:
            raise HTTPException(422, "period: period must be a month like 2026-10") from None


async def case_for(db: AsyncSession, row: ContractRow, period: str | None, at: datetime) -> Case:
    contract = contract_of(row)
    # one round trip, plain rows (no ORM identity map): the contract's incidents with their events
    inc, ev = IncidentRow.__table__.c, IncidentEvent.__table__.c
    q = (sa_select(inc.id, inc.category, inc.started_at, inc.reported_at, ev.kind, ev.at, ev.data, ev.seq)
         .join_from(IncidentRow.__table__, IncidentEvent.__table__, ev.incident_id == inc.id)
         .where(inc.contract_id == row.id).order_by(inc.reported_at, inc.id, ev.seq))
    grouped: dict[str, tuple[SimpleNamespace, list[SimpleNamespace]]] = {}
    for r in (await db.exec(q)).all():
        if r.id not in grouped:
            grouped[r.id] = (SimpleNamespace(id=r.id, category=r.category, started_at=r.started_at,
                                             reported_at=r.reported_at), [])
        grouped[r.id][1].append(SimpleNamespace(kind=r.kind, at=r.at, data=r.data, actor="", note=""))
    if period is not None:
        parse_month(period)
    # stored values were validated on the way in: no second validation on the way out
    return Case.model_construct(contract=contract,
                                incidents=[case_incident(i, state_of(evs)) for i, evs in grouped.values()],
                                period=period or current_period(contract, at), at=at.astimezone(timezone.utc))


@router.get("/contracts")
async def list_contracts(customer: str | None = None, template: str | None = None,
                         limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
                         who: Principal = Depends(principal), db: AsyncSession = Depends(session)) -> dict:
    rows = [r for r in await visible_contracts(db, who, customer) if template is None or r.template == template]
    return {"items": [r.body for r in rows[offset:offset + limit]], "total": len(rows)}


@router.post("/contracts", status_code=201)
async def create_contract(body: Contract, request: Request, _: Principal = Depends(require("admin")),
                          db: AsyncSession = Depends(session)) -> dict:
    return (await save_contract(db, body, request.app.state.rules)).body


@router.put("/contracts/{contract_id}")
async def replace_contract(contract_id: str, body: Contract, request: Request,
                           who: Principal = Depends(principal), db: AsyncSession = Depends(session)) -> dict:
    if await get_visible_contract(db, who, contract_id) is None:
        raise not_found("contract", contract_id)
    if who.role != "admin":
        raise HTTPException(403, "this needs the admin role")
    if body.id != contract_id:
        raise HTTPException(422, f"id: {body.id!r} does not match the URL's {contract_id!r}")
    return (await save_contract(db, body, request.app.state.rules, replace=True)).body


@router.get("/contracts/{contract_id}")
async def get_contract(contract_id: str, who: Principal = Depends(principal), db: AsyncSession = Depends(session)) -> dict:
    row = await get_visible_contract(db, who, contract_id)
    if row is None:
        raise not_found("contract", contract_id)
    return row.body


@router.get("/contracts/{contract_id}/credits")
async def contract_credits(contract_id: str, request: Request, period: str | None = None, at: datetime | None = None,
                           who: Principal = Depends(principal), db: AsyncSession = Depends(session)) -> dict:
    """The month's report (windows, outage, credit, cap, termination right) from stored incidents."""
    check_period(period)
    row = await read_visible_contract(db, who, contract_id)
    if row is None:
        raise not_found("contract", contract_id)
    if at is not None and at.tzinfo is None:
        raise HTTPException(422, "at: datetime has no UTC offset")
    # the report is plain JSON already: skip FastAPI's re-encoding
    return JSONResponse(evaluate_case(await case_for(db, row, period, at or now()), request.app.state.rules))


@router.get("/customers/{customer_id}/credits")
async def customer_credits(customer_id: str, request: Request, period: str | None = None,
                           who: Principal = Depends(principal), db: AsyncSession = Depends(session)) -> dict:
    """The sum over a customer's contracts, with each contract's report."""
    check_period(period)
    if await db.get(Customer, customer_id) is None or not who.sees(customer_id):
        raise not_found("customer", customer_id)
    at = now()
    reports = [evaluate_case(await case_for(db, r, period, at), request.app.state.rules)
               for r in await visible_contracts(db, who, customer_id)]
    total = sum((Decimal(r["credit"]["amount"]) for r in reports), Decimal("0"))
    return {"customer_id": customer_id, "period": period, "amount": fmt(total), "currency": "CNY",
            "contracts": reports}


@router.delete("/contracts/{contract_id}", status_code=204)
async def delete_contract(contract_id: str, who: Principal = Depends(principal),
                          db: AsyncSession = Depends(session)) -> None:
    """Only a contract with no incidents and no targets: history is never deleted."""
    row = await get_visible_contract(db, who, contract_id)
    if row is None:
        raise not_found("contract", contract_id)
    if who.role != "admin":
        raise HTTPException(403, "this needs the admin role")
    for table in (IncidentRow, TargetRow):
        if (await db.exec(select(table).where(table.contract_id == contract_id).limit(1))).first() is not None:
            raise HTTPException(409, f"contract {contract_id!r} has {table.__tablename__}; it is kept for the record")
    await db.delete(row)
    await db.commit()
