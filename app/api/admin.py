"""``POST /v1/admin/rules/reload``: templates and calendars read again without a
restart (also on SIGHUP). Validated whole first: a bad file is a 422 naming
``file:line: field: message`` and the running set stays."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from app.api.deps import require
from app.contracts.lifecycle import reload_and_report
from app.contracts.yamlfile import RulesError

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class Reloaded(BaseModel):
    files: int
    templates: list[str]
    calendar_years: list[int]
    warning: str | None = None


@router.post("/rules/reload", response_model=Reloaded, dependencies=[Depends(require("admin"))])
async def reload(request: Request) -> Reloaded:
    try:
        reloaded = Reloaded(**reload_and_report(request.app.state.rules))
    except RulesError as exc:
        raise HTTPException(422, str(exc)) from None
    await request.app.state.service.rules_changed()  # maintenance files stored, every state recomputed
    return reloaded
