"""Incidents: list and filter, detail with timeline and live windows, staff
actions (each one a timeline event), and the NOC's running-windows list."""
from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import Field, model_validator
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api import schemas as S
from app.api.contracts import now
from app.api.deps import Caller, Db, not_found
from app.auth.service import Principal
from app.contracts.errors import CaseError
from app.contracts.service import get_visible_contract, visible_contracts
from app.contracts.types import Attribution, Category, Instant, Strict
from app.incidents.cases import case_for
from app.incidents.service import add_event, events_of, open_incident, state_of
from app.incidents.timeline import ACTION_KIND, TransitionError
from app.live import contract_state
from app.storage.tables import ContractRow, IncidentEvent, IncidentRow
from app.writes import checked

router = APIRouter(prefix="/v1", tags=["incidents"])


class IncidentCreate(Strict):
    """A customer-reported (or staff-found) incident, with the customer's ``started_at``."""

    contract_id: str
    category: Category
    started_at: Instant
    reported_at: Instant | None = None
    note: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _order(self):
        if self.reported_at is not None and self.reported_at < self.started_at:
            raise ValueError("reported_at is before started_at")
        return self


class Action(Strict):
    at: Instant | None = None  # default: now
    note: str = Field("", max_length=2000)
    reason: str | None = Field(None, max_length=64)  # pause
    attribution: Attribution | None = None  # classify
    severity: Literal["minor", "major"] | None = None  # classify
    announced_at: Instant | None = None  # classify as announced_maintenance


def render(row: IncidentRow, events: list[IncidentEvent], live: Live | None = None) -> dict:
    st = state_of(events)
    out = {"id": row.id, "contract_id": row.contract_id, "target_id": row.target_id, "category": row.category,
           "source": row.source, "status": st.status, "attribution": st.attribution, "severity": st.severity,
           "provisional": st.attribution == "unknown",
           **{k: (v.isoformat() if v else None) for k, v in (
               ("started_at", row.started_at), ("reported_at", row.reported_at),
               ("acknowledged_at", st.acknowledged_at), ("notified_at", st.notified_at),
               ("resolved_at", st.resolved_at))}}
    if live is not None:
        out["windows"], out["evaluation_error"] = live
        out["timeline"] = [{"seq": e.seq, "kind": e.kind, "at": e.at.isoformat(), "actor": e.actor, "note": e.note,
                            "data": e.data} for e in events]
    return out


async def visible_incident(db: AsyncSession, who: Principal, incident_id: str) -> tuple[IncidentRow, ContractRow]:
    row = await db.get(IncidentRow, incident_id)
    contract = await get_visible_contract(db, who, row.contract_id) if row is not None else None
    if row is None or contract is None:
        raise not_found("incident", incident_id)
    return row, contract


Live = tuple[list[dict], dict | None]  # the windows, or none and why the contract cannot be evaluated


async def windows_of(db, request, contract: ContractRow, incident_id: str | None = None) -> Live:
    """Live windows of a contract (one incident's, with ``incident_id``), as of now.
    A contract that cannot be evaluated (a year with no calendar yet) gives no
    windows and the reason (``app.live``'s one error policy); the incident itself
    is stored and shown all the same."""
    case = await case_for(await db.connection(), contract, None, now())
    st = contract_state(contract, case, None, request.app.state.rules, request.app.state.evaluation_errors)
    if st.error is not None:
        return [], {"reason": st.error[0], "detail": st.error[1]}
    return [r for r in st.windows_json() if incident_id is None or r["incident_id"] == incident_id], None


@router.get("/incidents", response_model=S.Incidents)
async def list_incidents(*, request: Request, open: bool | None = None, contract: str | None = None,
                         category: Category | None = None, breached: bool | None = None,
                         limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
                         who: Caller, db: Db) -> dict:
    visible = [c.id for c in await visible_contracts(db, who) if contract is None or c.id == contract]
    q = select(IncidentRow).where(IncidentRow.contract_id.in_(visible)).order_by(IncidentRow.reported_at.desc())
    if category is not None:
        q = q.where(IncidentRow.category == category)
    rows = list((await db.exec(q)).all())
    evs = await events_of(db, [r.id for r in rows])
    wanted = None if breached is None else await _breached(request, set(visible))
    out = []
    for r in rows:
        item = render(r, evs[r.id])
        if open is not None and (item["status"] != "resolved") != open:
            continue
        if wanted is not None and (r.id in wanted) != breached:
            continue
        out.append(item)
    return {"items": out[offset:offset + limit], "total": len(out)}


async def _breached(request: Request, contract_ids: set[str]) -> set[str]:
    """Incidents with a breached window, from the shared live state."""
    snapshot = await request.app.state.live.current()
    return {w.incident_id for cid, st in snapshot.states.items() if cid in contract_ids
            for w in st.windows if w.status == "breached"}


@router.post("/incidents", status_code=201, response_model=S.IncidentDetail)
async def create_incident(*, body: IncidentCreate, request: Request, who: Caller,
                          db: Db) -> dict:
    contract = await get_visible_contract(db, who, body.contract_id)
    if contract is None:
        raise CaseError("/contract_id", f"unknown contract {body.contract_id!r}")
    actor = f"{who.role}:{who.token_id}"
    reported = body.reported_at or body.started_at
    source = "manual"
    if who.is_customer:
        # a customer's report is a claim: its clock starts now, when it is reported (the customer says
        # when the outage began); its attribution stays unknown, so all it adds is provisional
        if body.reported_at is not None:
            raise CaseError("/reported_at", "set by the server for a customer's report (the time it arrives)")
        request.app.state.limits["claims"].take(who.customer_id)
        reported, source = max(now(), body.started_at), "claim"
    async with checked(db, request.app.state.rules, contract, now(), body.started_at, reported, pointer="/started_at"):
        try:
            row, events = await open_incident(db, incident_id=f"inc-{uuid.uuid4().hex[:12]}",
                                              contract_id=contract.id, category=body.category,
                                              started_at=body.started_at, reported_at=reported, actor=actor,
                                              note=body.note, source=source)
        except TransitionError as exc:
            raise CaseError(f"/{exc.field}", exc.message) from None
    await db.commit()
    request.app.state.live.invalidate(contract.id)
    return render(row, events, await windows_of(db, request, contract, row.id))


@router.get("/incidents/{incident_id}", response_model=S.IncidentDetail)
async def get_incident(*, incident_id: str, request: Request, who: Caller,
                       db: Db) -> dict:
    row, contract = await visible_incident(db, who, incident_id)
    return render(row, (await events_of(db, [row.id]))[row.id], await windows_of(db, request, contract, row.id))


def _action_data(action: str, body: Action, who: Principal) -> dict:
    """Who may take ``action`` and the data its event carries."""
    if who.role not in ("admin", "noc"):
        raise HTTPException(403, "this needs the admin or noc role")
    if action == "void":  # takes an incident out of every figure: an administrator's decision, with its reason
        if who.role != "admin":
            raise HTTPException(403, "voiding an incident needs the admin role")
        if not body.note.strip():
            raise CaseError("/note", "required: why this incident is voided (kept in its timeline)")
    if action == "pause":
        return {"reason": body.reason or "waiting_on_customer"}
    if action != "classify":
        return {}
    data = {k: v for k, v in (("attribution", body.attribution), ("severity", body.severity),
                              ("announced_at", body.announced_at.isoformat() if body.announced_at else None))
            if v is not None}
    if not data:
        raise CaseError("/attribution", "classify needs attribution, severity or announced_at")
    return data


@router.post("/incidents/{incident_id}/{action}", response_model=S.IncidentDetail)
async def act(*, incident_id: str, action: Literal["acknowledge", "notify", "pause", "resume", "classify", "resolve",
                                                "reopen", "void"],
              request: Request, body: Action | None = None, who: Caller,
              db: Db) -> dict:
    body = body or Action()
    row, contract = await visible_incident(db, who, incident_id)  # another customer's incident: 404 first
    data = _action_data(action, body, who)
    events = (await events_of(db, [row.id]))[row.id]
    async with checked(db, request.app.state.rules, contract, now(), row.started_at, body.at, body.announced_at,
                       pointer="/at"):
        try:
            await add_event(db, row, events, ACTION_KIND[action], body.at or now(), f"{who.role}:{who.token_id}",
                            body.note, data)
        except TransitionError as exc:
            raise HTTPException(409 if exc.field == "action" else 422, f"{exc.field}: {exc.message}") from None
    await db.commit()
    request.app.state.live.invalidate(contract.id)
    return render(row, events, await windows_of(db, request, contract, row.id))


@router.get("/windows", response_model=S.Windows)
async def running_windows(*, request: Request, status: Literal["running", "breached", "met", "excluded"] | None = None,
                          who: Caller) -> dict:
    """Every window with its deadline and time left — "what breaches next" first —
    from the shared live state (``app.live``), a few seconds old at most."""
    snapshot = await request.app.state.live.current()
    at = now()
    out, errors = [], []
    for st in snapshot.states.values():
        if not who.sees(st.row.customer_id):
            continue
        if st.error is not None:  # one contract that cannot be evaluated never hides the others
            errors.append({"contract_id": st.contract_id, "reason": st.error[0], "detail": st.error[1]})
        for w, shown in zip(st.windows, st.windows_json(), strict=True):
            if status is None or w.status == status:
                # a met window's deadline may be unknown (a year with no schedule yet)
                left = round((w.deadline - at).total_seconds(), 3) if w.deadline is not None else None
                out.append({"contract_id": st.contract_id, **shown, "time_left_seconds": left})
    out.sort(key=lambda w: (w["time_left_seconds"] is None, w["time_left_seconds"] or 0))
    return {"items": out, "total": len(out), "at": at.isoformat(), "evaluation_errors": errors}
