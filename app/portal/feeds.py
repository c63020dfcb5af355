"""A customer's private feeds (the URL is the secret, read-only, replaced by a
new one): Atom of their incidents, and iCalendar of their incidents and their
windows' deadlines and their planned maintenance — for a mail client or a calendar that subscribes. At most
``LIMIT`` incidents, newest first."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from icalendar import Calendar, Event
from sqlmodel import select

from app.auth.service import Principal
from app.incidents.service import events_of, state_of
from app.maintenance.ics import events
from app.maintenance.store import visible
from app.portal.tokens import feed_customer
from app.portal.web import env
from app.reports import views
from app.storage.tables import ContractRow, IncidentRow

router = APIRouter(prefix="/portal/feeds", include_in_schema=False)
BEIJING = ZoneInfo("Asia/Shanghai")
LIMIT = 200


async def _incidents(request: Request, token: str) -> tuple[str, list[dict]]:
    async with request.app.state.sessions() as db:
        customer = await feed_customer(db, token[:100])
        if customer is None:
            raise HTTPException(404, "no such feed")
        rows = list((await db.exec(select(IncidentRow, ContractRow.body).join(ContractRow)
                                   .where(ContractRow.customer_id == customer)
                                   .order_by(IncidentRow.reported_at.desc()).limit(LIMIT))).all())
        evs = await events_of(db, [r.id for r, _ in rows])
    out = []
    for r, body in rows:
        st, tz = state_of(evs[r.id]), body.get("timezone", "Asia/Shanghai")
        out.append({"id": r.id, "contract_id": r.contract_id, "title": views.title(r.category, r.started_at, tz),
                    "started_at": r.started_at, "resolved_at": st.resolved_at, "status": st.status,
                    "status_text": views.STATUS.get(st.status, st.status), "updated": max(e.at for e in evs[r.id])})
    return customer, out


@router.get("/{token}/atom.xml")
async def atom(request: Request, token: str) -> Response:
    customer, incidents = await _incidents(request, token)
    base = request.app.state.settings.public_url.rstrip("/")
    updated = max((i["updated"] for i in incidents), default=datetime.now(timezone.utc))
    xml = env.get_template("atom.xml").render(customer=customer, incidents=incidents, base=base, updated=updated,
                                              feed_url=f"{base}/portal/feeds/{token}/atom.xml")
    return Response(xml, media_type="application/atom+xml; charset=utf-8", headers={"Cache-Control": "no-store"})


@router.get("/{token}/calendar.ics")
async def calendar(request: Request, token: str) -> Response:
    customer, incidents = await _incidents(request, token)
    cal = Calendar()
    cal.add("prodid", "-//slawatch//portal//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"slawatch {customer}")
    now = datetime.now(timezone.utc)
    for i in incidents:
        ev = Event()
        ev.add("uid", f"incident-{i['id']}@slawatch")
        ev.add("summary", f"{i['title']} ({i['status_text']})")
        ev.add("dtstart", i["started_at"])
        ev.add("dtend", i["resolved_at"] or now)
        ev.add("dtstamp", i["updated"])
        cal.add_component(ev)
    snapshot = await request.app.state.live.current()
    for st in snapshot.states.values():
        if st.row.customer_id != customer:
            continue
        for w in st.windows:
            if w.status == "running" and w.deadline is not None:
                ev = Event()
                ev.add("uid", f"deadline-{w.incident_id}-{w.window}@slawatch")
                ev.add("summary", f"截止 Deadline {w.window} {w.cited.get('clause') or ''} · {st.contract_id}")
                ev.add("dtstart", w.deadline)
                ev.add("dtend", w.deadline)
                ev.add("dtstamp", snapshot.at)
                cal.add_component(ev)
    async with request.app.state.sessions() as db:  # their planned maintenance, recurring ones with their rule
        planned = await visible(db, Principal("feed", "customer", customer))
    for ev in events(planned, BEIJING):
        cal.add_component(ev)
    cal.add_missing_timezones()
    return Response(cal.to_ical(), media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "no-store"})
