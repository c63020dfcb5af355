"""The NOC board: every window still running (or breached while its incident
is open), soonest deadline first, from the shared live state; actions with the
API's own rules and errors (``app.api.incidents.act``); open claims to confirm;
the contracts that cannot be evaluated. The page polls ``board.json``."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.api.contracts import now
from app.api.incidents import Action, act
from app.contracts.errors import CaseError
from app.portal.web import Staff, checked_form, page
from app.portal.web import local as local_time
from app.reports import views

router = APIRouter(prefix="/portal/noc", include_in_schema=False)
ACTIONS = ("acknowledge", "notify", "pause", "resume", "classify", "resolve")
WARN = 0.8  # the share of a window's limit at which the board turns amber (the warning ticket's default)


ROWS = 100  # basis: policy — the soonest deadlines a board shows (and how many more there are)
_BUILT: dict = {}  # the last snapshot's board, by the snapshot itself: built once, read by every poll


def board(snapshot, at) -> dict:
    """The board at ``at``: the snapshot's rows (built once per snapshot) with the time
    left of each, the soonest ``ROWS`` of them."""
    built = _BUILT.get("board") if _BUILT.get("snapshot") is snapshot else None
    if built is None:
        built = _board(snapshot)
        _BUILT.update(snapshot=snapshot, board=built)
    now_ts = at.timestamp()
    rows = [{**r, "left": r["deadline_ts"] - now_ts if r["deadline_ts"] is not None else None}
            for r in built["rows"][:ROWS]]
    return {**built, "at": now_ts, "rows": rows, "more": max(len(built["rows"]) - ROWS, 0)}


def _board(snapshot) -> dict:
    """The board's rows (pure): open incidents' windows that run or have breached, soonest
    deadline first; claims whose attribution is still unknown; evaluation errors."""
    rows, claims, errors = [], [], []
    for st in snapshot.states.values():
        if st.error is not None:
            errors.append({"contract_id": st.contract_id, "reason": st.error[0], "detail": st.error[1]})
            continue
        tz = st.case.contract.timezone
        incidents = {i.id: i for i in st.case.incidents}
        for w in st.windows:
            inc = incidents.get(w.incident_id)
            if inc is None or inc.resolved_at is not None or w.status not in ("running", "breached"):
                continue
            used = w.elapsed.total_seconds() / w.limit_seconds if w.limit_seconds else 0
            rows.append({"contract_id": st.contract_id, "customer_id": st.row.customer_id,
                         "incident_id": w.incident_id, "title": views.title(inc.category, inc.started_at, tz),
                         "window": w.window, "clause": w.cited.get("clause"), "original": w.cited.get("original"),
                         "deadline": local_time(w.deadline, tz), "deadline_ts": w.deadline.timestamp() if w.deadline
                         else None, "used": round(used, 4), "status": w.status,
                         "level": "breached" if w.status == "breached" else "warn" if used >= WARN else "ok",
                         "acknowledged": inc.acknowledged_at is not None, "paused": bool(inc.pauses and
                                                                                        inc.pauses[-1].end is None)})
            if inc.attribution == "unknown" and not any(c["incident_id"] == inc.id for c in claims):
                claims.append({"contract_id": st.contract_id, "incident_id": inc.id,
                               "title": views.title(inc.category, inc.started_at, tz)})
    rows.sort(key=lambda r: (r["deadline_ts"] is None, r["deadline_ts"] or 0))
    return {"rows": rows, "unconfirmed": claims, "errors": errors}


@router.get("")
async def noc_page(request: Request, s: Staff, error: str | None = None) -> Response:
    data = board(await request.app.state.live.current(), now())
    return page(request, "noc.html", 200, s=s, board=data, actions=ACTIONS, attributions=views.ATTRIBUTION,
                error=error)


@router.get("/board.json")
async def board_json(request: Request, s: Staff) -> JSONResponse:
    return JSONResponse(board(await request.app.state.live.current(), now()), headers={"Cache-Control": "no-store"})


@router.post("/incidents/{incident_id}/{action}")
async def noc_action(request: Request, incident_id: str, action: Literal[ACTIONS], s: Staff,
                     csrf: Annotated[str, Form(max_length=100)],
                     attribution: Annotated[str | None, Form(max_length=40)] = None,
                     note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    await checked_form(csrf, s)
    try:
        body = Action(note=note, attribution=attribution or None) if action == "classify" else Action(note=note)
        async with request.app.state.sessions() as db:
            await act(incident_id=incident_id, action=action, request=request, body=body, who=s.principal, db=db)
    except (HTTPException, CaseError, ValueError) as exc:
        status = exc.status_code if isinstance(exc, HTTPException) else 422
        message = exc.detail if isinstance(exc, HTTPException) else str(exc)
        data = board(await request.app.state.live.current(), now())
        return page(request, "noc.html", status, s=s, board=data, actions=ACTIONS, attributions=views.ATTRIBUTION,
                    error=f"{action} {incident_id}: {message}")
    return RedirectResponse("/portal/noc", status_code=303)
