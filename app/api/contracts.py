"""Contracts and their live credits: the same report as ``slawatch evaluate``,
computed from stored incidents."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import select

from app.api import schemas as S
from app.api.deps import Caller, Db, Reader, not_found, require
from app.api.settled import SettledReports, settled
from app.auth.service import Principal
from app.auth.vault import mask
from app.calendars.periods import month_bounds
from app.contracts.models import Contract
from app.contracts.service import (
    get_visible_contract,
    save_contract,
    visible_contracts,
)
from app.contracts.types import parse_month
from app.evaluation.service import evaluate_case
from app.incidents.cases import case_for, visible_case_stamped
from app.live import report_or_error
from app.money import ZERO, fmt
from app.storage.tables import Customer, IncidentRow, TargetRow
from app.writes import checked, ensure_evaluable, periods_of

router = APIRouter(prefix="/v1", tags=["contracts"])
SETTLED = SettledReports()  # months time can no longer change, per process


def now() -> datetime:
    return datetime.now(timezone.utc)


def check_period(period: str | None) -> None:
    if period is not None:
        try:
            parse_month(period)
        except ValueError:
            raise HTTPException(422, "period: period must be a month like 2026-10") from None


@router.get("/contracts", response_model=S.Contracts)
async def list_contracts(*, customer: str | None = None, template: str | None = None,
                         limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
                         who: Caller, db: Db) -> dict:
    rows = [r for r in await visible_contracts(db, who, customer) if template is None or r.template == template]
    return {"items": [mask(r.body) for r in rows[offset:offset + limit]], "total": len(rows)}


@router.post("/contracts", status_code=201, response_model=S.Contract)
async def create_contract(*, body: Contract, request: Request, _: Principal = Depends(require("admin")),
                          db: Db) -> dict:
    rules = request.app.state.rules
    row = await save_contract(db, body, rules, request.app.state.vault, commit=False)
    await ensure_evaluable(db, rules, row, now(), periods_of(body, now()), contract=body)
    await db.commit()
    request.app.state.live.invalidate(body.id)
    return mask(row.body)


@router.put("/contracts/{contract_id}", response_model=S.Contract)
async def replace_contract(*, contract_id: str, body: Contract, request: Request,
                           who: Caller, db: Db) -> dict:
    stored = await get_visible_contract(db, who, contract_id)
    if stored is None:
        raise not_found("contract", contract_id)
    if who.role != "admin":
        raise HTTPException(403, "this needs the admin role")
    if body.id != contract_id:
        raise HTTPException(422, f"id: {body.id!r} does not match the URL's {contract_id!r}")
    rules = request.app.state.rules
    async with checked(db, rules, stored, now(), contract=body):  # its incidents under the new terms
        row = await save_contract(db, body, rules, request.app.state.vault, replace=True, commit=False)
    await db.commit()
    request.app.state.live.invalidate(contract_id)
    return mask(row.body)


@router.get("/contracts/{contract_id}", response_model=S.Contract)
async def get_contract(*, contract_id: str, who: Caller,
                       db: Db) -> dict:
    row = await get_visible_contract(db, who, contract_id)
    if row is None:
        raise not_found("contract", contract_id)
    return mask(row.body)


@router.get("/contracts/{contract_id}/credits", response_model=S.Report)
async def contract_credits(*, contract_id: str, request: Request, period: str | None = None, at: datetime | None = None,
                           who: Caller, db: Reader) -> Response:
    """The month's report (windows, outage, credit, cap, termination right) from stored incidents."""
    check_period(period)
    if at is not None and at.tzinfo is None:
        raise HTTPException(422, "at: datetime has no UTC offset")
    got = await visible_case_stamped(db, who, contract_id, period, at or now())
    if got is None:
        raise not_found("contract", contract_id)
    build, month, stamp = got
    rules = request.app.state.rules
    key = (contract_id, month, stamp, id(rules))
    if at is None and (hit := SETTLED.answer(key)) is not None:
        return hit
    case = build()
    tz = ZoneInfo(case.contract.timezone)
    report = evaluate_case(case, rules)
    if at is None and settled(case, report, month_bounds(*parse_month(case.period), tz)[1]):
        SETTLED.keep(key, report, tz)
    # the report is plain JSON already: skip FastAPI's re-encoding
    return JSONResponse(report)


@router.get("/customers/{customer_id}/credits", response_model=S.CustomerCredits)
async def customer_credits(*, customer_id: str, request: Request, period: str | None = None,
                           who: Caller, db: Db) -> JSONResponse:
    """The sum over a customer's contracts, with each contract's report."""
    check_period(period)
    if await db.get(Customer, customer_id) is None or not who.sees(customer_id):
        raise not_found("customer", customer_id)
    at = now()
    conn = await db.connection()
    reports, errors = [], []
    for r in await visible_contracts(db, who, customer_id):
        # one contract that cannot be evaluated never hides the others' money (app.live's one error policy)
        report, error = report_or_error(await case_for(conn, r, period, at), request.app.state.rules)
        if error is None:
            reports.append(report)
        else:
            errors.append({"contract_id": r.id, "reason": error[0], "detail": error[1]})

    def total(field: str) -> str:
        return fmt(sum((getattr(x.credit, field) for x in reports), ZERO))
    # owed: confirmed; owed_provisional: what rests on claims staff have not classified yet
    return JSONResponse({"customer_id": customer_id, "period": period, "amount": total("amount"),
                         "owed": total("owed"), "owed_provisional": total("owed_provisional"), "currency": "CNY",
                         "contracts": [x.to_json() for x in reports], "evaluation_errors": errors})


@router.delete("/contracts/{contract_id}", status_code=204)
async def delete_contract(*, contract_id: str, request: Request, who: Caller,
                          db: Db) -> None:
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
    request.app.state.live.invalidate(contract_id)
