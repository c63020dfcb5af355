"""One-tap acknowledgement from an on-duty message: ``/portal/ack/{token}`` shows
the incident and a button (a GET changes nothing: chat apps and mail scanners
fetch links); the button acknowledges it once, with the API's own rule and
timeline event (``app.api.incidents.act``), and shows what happened."""
from __future__ import annotations

import hashlib

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.api.incidents import Action, act
from app.auth.service import Principal
from app.contracts.errors import CaseError
from app.portal.tokens import ack_of
from app.portal.web import page

router = APIRouter(prefix="/portal/ack", include_in_schema=False)


@router.get("/{token}")
async def ack_page(request: Request, token: str) -> Response:
    async with request.app.state.sessions() as db:
        got = await ack_of(db, token[:100], use=False)
    if got is None:
        return page(request, "ack.html", 410, token=None, error="this link has expired or was used already")
    return page(request, "ack.html", token=token, incident=got[0], person=got[1])


@router.post("/{token}")
async def acknowledge(request: Request, token: str) -> Response:
    async with request.app.state.sessions() as db:
        got = await ack_of(db, token[:100], use=True)
        await db.commit()
    if got is None:
        return page(request, "ack.html", 410, token=None, error="this link has expired or was used already")
    incident, person = got
    # as the person it was sent to, when a step paged one; else as the link itself
    who = Principal(f"ack-link:{person or hashlib.sha256(token.encode()).hexdigest()[:8]}", "noc", None)
    try:
        async with request.app.state.sessions() as db:
            done = await act(incident_id=incident, action="acknowledge", request=request,
                             body=Action(note="acknowledged from an on-duty message"), who=who, db=db)
    except (HTTPException, CaseError) as exc:
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return page(request, "ack.html", getattr(exc, "status_code", 422), token=None, incident=incident,
                    error=f"not acknowledged: {detail}")
    return page(request, "ack.html", token=None, incident=incident, person=person, done=done)
