"""Probe targets: a protocol, its config (validated against the probe registry),
the contract it watches and the incident category its failures open."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlmodel import select

from app.api import schemas as S
from app.api.deps import Caller, Db, not_found, require
from app.auth.service import Principal
from app.auth.vault import mask
from app.contracts.errors import CaseError
from app.contracts.service import get_visible_contract, visible_contracts
from app.probing.targets import TargetCreate, from_module, target_row
from app.storage.tables import TargetRow

router = APIRouter(prefix="/v1/targets", tags=["targets"])


def public(row: TargetRow) -> dict:
    """A target as shown: its secrets never (write-only, ``***set***``)."""
    out = row.model_dump()
    out["config"] = mask(out["config"])
    return out


@router.get("", response_model=S.Targets)
async def list_targets(*, contract: str | None = None, protocol: str | None = None,
                       limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
                       who: Caller, db: Db) -> dict:
    allowed = {r.id for r in await visible_contracts(db, who)}
    q = select(TargetRow).order_by(TargetRow.id)
    rows = [r for r in (await db.exec(q)).all() if r.contract_id in allowed
            and (contract is None or r.contract_id == contract) and (protocol is None or r.protocol == protocol)]
    return {"items": [public(r) for r in rows[offset:offset + limit]], "total": len(rows)}


@router.post("", status_code=201, response_model=S.Target)
async def create_target(*, body: TargetCreate, request: Request, who: Principal = Depends(require("admin", "noc")),
                        db: Db) -> dict:
    if await get_visible_contract(db, who, body.contract_id) is None:
        raise CaseError("/contract_id", f"unknown contract {body.contract_id!r}")
    if await db.get(TargetRow, body.id) is not None:
        raise HTTPException(409, f"target {body.id!r} exists already")
    row = target_row(from_module(body, request.app.state.probe_modules), request.app.state.vault)
    db.add(row)
    await db.commit()
    if request.app.state.service.worker is not None:
        await request.app.state.service.worker.adopt(row)
    return public(row)


@router.get("/{target_id}", response_model=S.Target)
async def get_target(*, target_id: str, who: Caller, db: Db) -> dict:
    row = await db.get(TargetRow, target_id)
    if row is None or await get_visible_contract(db, who, row.contract_id) is None:
        raise not_found("target", target_id)
    return public(row)


@router.delete("/{target_id}", status_code=204)
async def delete_target(*, target_id: str, request: Request, who: Caller,
                        db: Db) -> None:
    row = await db.get(TargetRow, target_id)
    if row is None or await get_visible_contract(db, who, row.contract_id) is None:
        raise not_found("target", target_id)
    if who.role not in ("admin", "noc"):
        raise HTTPException(403, "this needs the admin or noc role")
    await db.delete(row)
    await db.commit()
    if request.app.state.service.worker is not None:
        request.app.state.service.worker.remove(target_id)
