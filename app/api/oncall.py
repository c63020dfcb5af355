"""``GET /v1/oncall``: who is on duty now (or ``at``), team by team (staff only)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from app.api.contracts import now
from app.api.deps import RulesNow, require
from app.auth.service import Principal
from app.calendars.base import CalendarError
from app.oncall.rota import on_duty

router = APIRouter(prefix="/v1", tags=["oncall"])


class OnDutyPerson(BaseModel):
    id: str
    name: str


class Duty(BaseModel):
    team: str
    shift: str
    people: list[OnDutyPerson]
    start: datetime
    end: datetime


class OnDuty(BaseModel):
    at: datetime
    duties: list[Duty]


@router.get("/oncall", response_model=OnDuty)
async def oncall(rules: RulesNow, at: datetime | None = None,
                 who: Principal = Depends(require("admin", "noc"))) -> dict:
    if rules.oncall is None:
        raise HTTPException(404, "no rota: add sla_rules/oncall.yaml")
    if at is not None and at.tzinfo is None:
        raise HTTPException(422, "at: datetime has no UTC offset")
    at = at or now()
    try:
        duties = on_duty(rules.oncall, rules.schedule, at)
    except CalendarError as exc:
        raise HTTPException(422, f"at: {exc}") from None
    return {"at": at, "duties": [{"team": d.team, "shift": d.shift, "start": d.start, "end": d.end,
                                  "people": [{"id": p.id, "name": p.name} for p in d.people]} for d in duties]}
