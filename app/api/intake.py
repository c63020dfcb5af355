"""Incidents from the monitoring a NOC already runs: ``POST /v1/intake/alertmanager``
takes Alertmanager's webhook (payload version 4) as Alertmanager sends it, with a
token of the ``intake`` role. A firing alert opens an incident on the contract its
``slawatch_contract`` label names (category from ``slawatch_category``, default
``service_unavailable``, basis: policy), ``startsAt`` as its start; a resolved one
resolves it at ``endsAt``. The incident's key is the alert's fingerprint and start,
so Alertmanager's re-sends (``repeat_interval``, restarts) never duplicate; an alert
that fired and resolved between two notifications is still opened and resolved.
Alerts naming no known contract are answered as ``unknown_contract``, kept and
listed (``GET /v1/intake/unrouted``), and file one ticket to the operator per
contract name they give (the global sinks), however often they are re-sent."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, field_validator
from sqlmodel import select

from app.api.contracts import now
from app.api.deps import Db, require
from app.auth.service import Principal
from app.contracts.errors import CaseError
from app.contracts.types import OUTAGE_CATEGORIES, Instant
from app.incidents.service import add_event, events_of, open_incident, state_of
from app.incidents.timeline import TransitionError
from app.storage.tables import ContractRow, IncidentRow, UnroutedAlertRow
from app.tickets.unrouted import keep
from app.writes import checked

log = logging.getLogger("slawatch.intake")
router = APIRouter(prefix="/v1/intake", tags=["intake"])
DEFAULT_CATEGORY = "service_unavailable"


def _go_zero(v: Any) -> Any:
    """Go's zero time (``0001-01-01T00:00:00Z``) is Alertmanager's "no end yet"."""
    return None if isinstance(v, str) and v.startswith("0001-01-01T00:00:00") else v


AlertEnd = Annotated[Instant | None, BeforeValidator(_go_zero)]


def _bounded(v: dict[str, str]) -> dict[str, str]:
    """At most 64 labels of 1 KB each (basis: policy): what is kept of an alert is bounded."""
    if len(v) > 64 or any(len(k) > 128 or len(x) > 1024 for k, x in v.items()):
        raise ValueError("at most 64 entries, names of 128 and values of 1024 characters")
    return v


Labels = Annotated[dict[str, str], AfterValidator(_bounded)]


class Alert(BaseModel):
    """One alert as Alertmanager sends it (its own field names: startsAt, endsAt)."""
    status: str = Field(pattern="^(firing|resolved)$")
    labels: Labels = {}
    annotations: Labels = {}
    startsAt: Instant
    endsAt: AlertEnd = None
    fingerprint: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook payload, version 4 (fields slawatch does not use are kept, not checked)."""
    version: str = "4"
    status: str = "firing"
    alerts: list[Alert] = Field(max_length=1000)
    model_config = {"extra": "allow"}


class AlertOutcome(BaseModel):
    fingerprint: str
    contract_id: str | None
    incident_id: str | None
    outcome: str  # opened | resolved | opened_and_resolved | unchanged | unknown_contract | refused
    detail: str = ""


class IntakeAnswer(BaseModel):
    alerts: list[AlertOutcome]


def incident_key(a: Alert) -> str:
    return f"alert-{a.fingerprint}-{a.startsAt.astimezone(timezone.utc):%Y%m%dT%H%M%S}"


@router.post("/alertmanager", response_model=IntakeAnswer)
async def alertmanager(body: AlertmanagerWebhook, request: Request, db: Db,
                       who: Principal = Depends(require("intake", "admin"))) -> dict:
    return {"alerts": [await _one(a, request, db, who, "alertmanager") for a in body.alerts]}


@router.post("/grafana", response_model=IntakeAnswer)
async def grafana(body: AlertmanagerWebhook, request: Request, db: Db,
                  who: Principal = Depends(require("intake", "admin"))) -> dict:
    """Grafana alerting's webhook contact point: its ``alerts`` are Alertmanager's
    (status, labels, annotations, startsAt, endsAt, fingerprint), beside its own
    ``title``, ``state`` and ``message``; the same labels map them to contracts."""
    return {"alerts": [await _one(a, request, db, who, "grafana") for a in body.alerts]}


async def _one(a: Alert, request: Request, db, who: Principal, source: str) -> dict[str, Any]:
    rules = request.app.state.rules
    route = rules.intake.route(a.labels) if rules.intake is not None and "slawatch_contract" not in a.labels else None
    if route is not None:  # sla_rules/intake.yaml says which contract the labels are about
        a = a.model_copy(update={"labels": {"slawatch_contract": route.contract, "slawatch_category": route.category,
                                            **a.labels}})
    cid = a.labels.get("slawatch_contract")
    out = {"fingerprint": a.fingerprint, "contract_id": cid, "incident_id": None, "outcome": "unknown_contract"}
    contract = await db.get(ContractRow, cid) if cid else None
    if contract is None:
        await keep(db, source=source, fingerprint=a.fingerprint, labels=a.labels, status=a.status,
                   starts_at=a.startsAt, ends_at=a.endsAt, contract_label=cid, now=now(),
                   link_base=request.app.state.settings.public_url.rstrip("/"))
        return out
    category = a.labels.get("slawatch_category", DEFAULT_CATEGORY)
    if category not in OUTAGE_CATEGORIES:
        return {**out, "outcome": "refused",
                "detail": f"slawatch_category: expected one of {', '.join(sorted(OUTAGE_CATEGORIES))}"}
    iid = incident_key(a)
    out["incident_id"] = iid
    ended = a.endsAt if a.status == "resolved" else None
    try:
        async with checked(db, request.app.state.rules, contract, now(), a.startsAt, ended):
            outcome = await _apply(db, a, iid, contract, category, ended, f"{who.role}:{who.token_id}")
        await db.commit()
    except (CaseError, TransitionError) as exc:
        await db.rollback()
        return {**out, "outcome": "refused", "detail": str(exc)}
    request.app.state.live.invalidate(contract.id)
    return {**out, "outcome": outcome}


async def _apply(db, a: Alert, iid: str, contract: ContractRow, category: str, ended: datetime | None,
                 actor: str) -> str:
    row = await db.get(IncidentRow, iid)
    opened = row is None
    if opened:
        note = a.annotations.get("summary") or a.labels.get("alertname", "")
        row, events = await open_incident(db, incident_id=iid, contract_id=contract.id, category=category,
                                          started_at=a.startsAt, reported_at=a.startsAt, actor=actor,
                                          source="alert", note=f"Alertmanager: {note}"[:2000])
    else:
        events = (await events_of(db, [iid]))[iid]
    if ended is None or state_of(events).status == "resolved":
        return "opened" if opened else "unchanged"
    await add_event(db, row, events, "resolved", ended, actor, "Alertmanager: resolved")
    return "opened_and_resolved" if opened else "resolved"


class KumaHeartbeat(BaseModel):
    monitorID: int
    status: int  # 0 down, 1 up, 2 pending, 3 maintenance
    time: str  # UTC, "YYYY-MM-DD HH:MM:SS.mmm"
    msg: str = ""
    model_config = {"extra": "allow"}

    @field_validator("time")
    @classmethod
    def _utc(cls, v: str) -> str:
        try:
            datetime.fromisoformat(v.replace(" ", "T"))
        except ValueError:
            raise ValueError("expected Uptime Kuma's UTC time, e.g. 2026-11-30 01:00:00.527") from None
        return v


class KumaMonitor(BaseModel):
    id: int
    name: str = ""
    tags: list[dict] = []
    model_config = {"extra": "allow", "strict": True}


class KumaWebhook(BaseModel):
    """Uptime Kuma's webhook notification (its JSON body: heartbeat, monitor, msg)."""
    heartbeat: KumaHeartbeat | None = None  # absent in Kuma's "test" notification
    monitor: KumaMonitor | None = None
    msg: str = ""
    model_config = {"extra": "allow"}


@router.post("/kuma", response_model=IntakeAnswer)
async def kuma(body: KumaWebhook, request: Request, db: Db, contract: str | None = None,
               category: str | None = None, who: Principal = Depends(require("intake", "admin"))) -> dict:
    """A monitor going down opens an incident (one per outage: Kuma's re-sends while it
    stays down change nothing), coming up resolves it. The contract is the monitor's
    ``slawatch_contract`` tag, else ``?contract=`` on the webhook URL."""
    hb, mon = body.heartbeat, body.monitor
    if hb is None or mon is None or hb.status not in (0, 1):
        return {"alerts": []}  # a test message, pending or maintenance: nothing to record
    tags = {t.get("name"): t.get("value") for t in mon.tags if isinstance(t, dict)}
    labels = {"alertname": mon.name, "slawatch_contract": tags.get("slawatch_contract") or contract or "",
              "slawatch_category": tags.get("slawatch_category") or category or DEFAULT_CATEGORY}
    at = datetime.fromisoformat(hb.time.replace(" ", "T"))
    at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
    key = f"kuma{mon.id}"
    row = (await db.exec(select(IncidentRow).where(IncidentRow.id.startswith(f"alert-{key}-"),
                                                   IncidentRow.source == "alert")
                         .order_by(IncidentRow.started_at.desc()).limit(1))).first()
    still_open = row is not None and state_of((await events_of(db, [row.id]))[row.id]).status != "resolved"
    if hb.status == 0:
        starts = row.started_at if still_open else at  # a re-send while down: the same outage
        a = Alert(status="firing", labels=labels, annotations={"summary": hb.msg}, startsAt=starts, fingerprint=key)
    elif still_open:
        a = Alert(status="resolved", labels=labels, startsAt=row.started_at, endsAt=at, fingerprint=key)
    else:
        return {"alerts": []}  # up, and nothing open: nothing to resolve
    return {"alerts": [await _one(a, request, db, who, "kuma")]}


class Unrouted(BaseModel):
    id: str
    source: str
    fingerprint: str
    contract_label: str | None
    alertname: str | None
    labels: dict[str, str]
    status: str
    starts_at: datetime
    ends_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    times: int


@router.get("/unrouted", response_model=list[Unrouted])
async def unrouted_alerts(db: Db, limit: int = Query(200, ge=1, le=1000),
                          who: Principal = Depends(require("admin", "noc"))) -> list:
    """Alerts that named no known contract, most recently seen first (staff only)."""
    return list((await db.exec(select(UnroutedAlertRow).order_by(UnroutedAlertRow.last_seen.desc())
                               .limit(limit))).all())
