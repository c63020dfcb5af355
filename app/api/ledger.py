"""The live ledger: invoices, storage samples and notices stored per contract,
and ``GET /v1/contracts/{id}/ledger?at=`` computed from them (SEMANTICS §13)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api import schemas as S
from app.api.contracts import now
from app.api.deps import Caller, Db, not_found
from app.auth.service import Principal
from app.contracts.errors import CaseError
from app.contracts.service import contract_of, get_visible_contract
from app.ledger.models import Invoice, LedgerCase, Notice, StorageSample
from app.ledger.service import ledger_case
from app.ledger.store import stored_billing
from app.storage.tables import ContractRow, InvoiceRow, NoticeRow, StorageSampleRow
from app.writes import checked

router = APIRouter(prefix="/v1/contracts/{contract_id}", tags=["ledger"])


async def _contract(db: AsyncSession, who: Principal, contract_id: str, write: bool = False) -> ContractRow:
    row = await get_visible_contract(db, who, contract_id)
    if row is None:
        raise not_found("contract", contract_id)
    if write and who.role not in ("admin", "noc"):
        raise HTTPException(403, "this needs the admin or noc role")
    return row


async def _add_once(db: AsyncSession, request: Request, contract: ContractRow, table, key_column: str, body,
                    what: str) -> dict:
    """Store an invoice or notice; its id is unique within the contract."""
    key = getattr(table, key_column)
    if (await db.exec(select(table).where(table.contract_id == contract.id, key == body.id))).first() is not None:
        raise CaseError("/id", f"{what} {body.id!r} exists already")
    async with checked(db, request.app.state.rules, contract, now()):
        db.add(table(contract_id=contract.id, **{key_column: body.id}, body=body.model_dump(mode="json")))
    await db.commit()
    request.app.state.live.invalidate(contract.id)
    return body.model_dump(mode="json")


@router.post("/invoices", status_code=201, response_model=Invoice)
async def add_invoice(*, contract_id: str, body: Invoice, request: Request, who: Caller,
                      db: Db) -> dict:
    row = await _contract(db, who, contract_id, write=True)
    return await _add_once(db, request, row, InvoiceRow, "invoice_id", body, "invoice")


@router.post("/storage", status_code=201, response_model=StorageSample)
async def add_storage_sample(*, contract_id: str, body: StorageSample, request: Request,
                             who: Caller, db: Db) -> dict:
    row = await _contract(db, who, contract_id, write=True)
    last = (await db.exec(select(StorageSampleRow).where(StorageSampleRow.contract_id == contract_id)
                          .order_by(StorageSampleRow.at.desc()).limit(1))).first()
    if last is not None and body.at < last.at:
        raise CaseError("/at", f"storage samples must be in time order (last at {last.at.isoformat()})")
    async with checked(db, request.app.state.rules, row, now(), body.at, pointer="/used_mb"):
        db.add(StorageSampleRow(contract_id=contract_id, at=body.at, used_mb=str(body.used_mb)))
    await db.commit()
    request.app.state.live.invalidate(contract_id)
    return body.model_dump(mode="json")


@router.post("/notices", status_code=201, response_model=Notice)
async def add_notice(*, contract_id: str, body: Notice, request: Request, who: Caller,
                     db: Db) -> dict:
    row = await _contract(db, who, contract_id, write=True)
    return await _add_once(db, request, row, NoticeRow, "notice_id", body, "notice")


@router.get("/billing", response_model=S.Billing)
async def list_billing(*, contract_id: str, who: Caller,
                       db: Db) -> dict:
    await _contract(db, who, contract_id)
    invoices, storage, notices = await stored_billing(db, contract_id)
    dump = lambda xs: [x.model_dump(mode="json") for x in xs]
    return {"invoices": dump(invoices), "storage": dump(storage), "notices": dump(notices)}


@router.get("/ledger", response_model=S.LedgerReport)
async def contract_ledger(*, contract_id: str, request: Request, at: datetime | None = None,
                          who: Caller, db: Db):
    """The ledger report at ``at`` (default now) from the stored billing data."""
    if at is not None and at.tzinfo is None:
        raise HTTPException(422, "at: datetime has no UTC offset")
    row = await _contract(db, who, contract_id)
    invoices, storage, notices = await stored_billing(db, contract_id)
    case = LedgerCase(contract=contract_of(row), invoices=invoices, storage=storage, notices=notices, at=at or now())
    return JSONResponse(ledger_case(case, request.app.state.rules))
