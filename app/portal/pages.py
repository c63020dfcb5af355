"""The customer's pages: sign-in (a token, or a one-time link), their contracts,
one contract's month (availability, outages, windows, credit lines with clause
and arithmetic, cap, amount owed), the statement as HTML and PDF, reporting a
fault (a claim) and its status, and the private feed URL."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from app.api.contracts import check_period, now
from app.api.deps import not_found
from app.api.incidents import IncidentCreate, create_incident
from app.api.statement import statement_response
from app.auth.service import Principal, authenticate
from app.calendars.periods import month_bounds
from app.contracts.errors import CaseError
from app.contracts.types import parse_month
from app.evaluation.health import describe
from app.evaluation.service import evaluate_case
from app.incidents.cases import current_period, visible_case
from app.incidents.service import events_of, state_of
from app.portal.tokens import (
    PORTAL_ROLES,
    SESSION_LIFE,
    end_session,
    feed_token,
    redeem_link,
    start_session,
    view_of,
)
from app.portal.web import COOKIE, PRE_COOKIE, Poster, Viewer, optional_session, page, pre_csrf, pre_csrf_ok, set_cookie
from app.reports import views
from app.storage.tables import IncidentRow

router = APIRouter(include_in_schema=False)


def _signed_in(request: Request, token: str, role: str) -> Response:
    response = RedirectResponse("/portal/noc" if role in ("noc", "admin") else "/portal/", status_code=303)
    set_cookie(response, request, COOKIE, token, int(SESSION_LIFE.total_seconds()))
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.get("/")
async def signin_page(request: Request, error: str | None = None) -> Response:
    if await optional_session(request) is not None:
        return RedirectResponse("/portal/", status_code=303)
    csrf = pre_csrf(request)
    response = page(request, "signin.html", 401 if error else 200, csrf=csrf, error=error)
    set_cookie(response, request, PRE_COOKIE, csrf, 3600)
    return response


@router.post("/portal/signin")
async def signin(request: Request, token: Annotated[str, Form(max_length=200)],
                 csrf: Annotated[str, Form(max_length=100)]) -> Response:
    if not pre_csrf_ok(request, csrf):
        raise HTTPException(403, "csrf: the sign-in form's token does not match; reload the page")
    who = await authenticate(request.app.state.sessions, token.strip())
    if who is None or who.role not in PORTAL_ROLES:
        return await signin_page(request, "unknown, expired or revoked token (a scrape or intake token cannot "
                                          "sign in)")
    async with request.app.state.sessions() as db:
        session_token, s = await start_session(db, who)
    return _signed_in(request, session_token, s.principal.role)


@router.get("/portal/link/{token}")
async def link_page(request: Request, token: str) -> Response:
    """A GET never uses the link up (mail scanners fetch links): the button does."""
    return page(request, "link.html", token=token)


@router.post("/portal/link/{token}")
async def redeem(request: Request, token: str) -> Response:
    async with request.app.state.sessions() as db:
        got = await redeem_link(db, token[:100])
    if got is None:
        return page(request, "link.html", 410, token=None,
                    error="this sign-in link has expired or was used already; ask for a new one")
    session_token, s = got
    return _signed_in(request, session_token, s.principal.role)


@router.post("/portal/signout")
async def signout(request: Request, s: Poster) -> Response:
    async with request.app.state.sessions() as db:
        await end_session(db, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def _contracts(request: Request, s) -> list[dict]:
    """The contracts this session sees, from the shared live state (no query, no parse)."""
    snapshot = await request.app.state.live.current()
    out = []
    for st in snapshot.states.values():
        if s.principal.sees(st.row.customer_id):
            c = st.case.contract
            out.append({"id": st.contract_id, "title": c.title or st.row.template, "template": st.row.template,
                        "fee": c.month_fee, "customer": st.row.customer_id, "billing": c.billing,
                        "period": st.case.period})
    return sorted(out, key=lambda x: x["id"])


@router.get("/portal/")
async def home(request: Request, s: Viewer) -> Response:
    return page(request, "home.html", s=s, contracts=await _contracts(request, s), feed=None)


@router.post("/portal/feed")
async def new_feed(request: Request, s: Poster) -> Response:
    """A new private feed URL (shown once: only its digest is kept); the old one stops."""
    if s.principal.customer_id is None:
        raise HTTPException(403, "feeds are a customer's: sign in with a customer link")
    async with request.app.state.sessions() as db:
        token = await feed_token(db, s.principal.customer_id)
    contracts = await _contracts(request, s)
    base = f"{request.app.state.settings.public_url.rstrip('/')}/portal/feeds/{token}"
    return page(request, "home.html", s=s, contracts=contracts,
                feed={"atom": f"{base}/atom.xml", "ics": f"{base}/calendar.ics"})


async def month_view(request: Request, who: Principal, contract_id: str, period: str | None) -> dict:
    """Everything the contract page shows for one month."""
    check_period(period)
    async with request.app.state.read_engine.connect() as conn:
        case = await visible_case(conn, who, contract_id, period, now())
    if case is None:
        raise not_found("contract", contract_id)
    contract, tz = case.contract, case.contract.timezone
    y, m = parse_month(case.period)
    p0, p1 = month_bounds(y, m, ZoneInfo(tz))
    async with request.app.state.sessions() as db:
        claims = list((await db.exec(select(IncidentRow).where(IncidentRow.contract_id == contract_id,
                                                               IncidentRow.source == "claim")
                                     .order_by(IncidentRow.reported_at.desc()).limit(50))).all())
        evs = await events_of(db, [c.id for c in claims])
    titles = {i.id: views.title(i.category, i.started_at, tz) for i in case.incidents}
    view = {"contract": contract, "period": case.period, "tz": tz, "titles": titles,
            "months": views.months_back(current_period(contract, now())),
            "incidents": [i for i in case.incidents
                          if i.started_at < p1 and (i.resolved_at is None or i.resolved_at >= p0)],
            "claims": [{"title": views.title(c.category, c.started_at, tz), "reported_at": c.reported_at,
                        "status": state_of(evs[c.id]).status, "attribution": state_of(evs[c.id]).attribution}
                       for c in claims],
            "categories": views.CATEGORY, "labels": views.STATUS, "attributions": views.ATTRIBUTION}
    try:
        report = evaluate_case(case, request.app.state.rules)
    except Exception as exc:  # noqa: BLE001 - the page says why the month cannot be computed (app.live's policy)
        view["error"] = describe(exc)
        return view
    view.update(report=report, marks=views.marks(case.incidents, p0, p1, tz),
                lines=views.credit_lines(report, contract, p0, p1), windows=views.window_rows(report, titles))
    return view


@router.get("/portal/contracts/{contract_id}")
async def contract_page(request: Request, contract_id: str, s: Viewer, period: str | None = None) -> Response:
    return page(request, "contract.html", s=s, **await month_view(request, s.principal, contract_id, period))


@router.get("/portal/view/{token}")
async def view(request: Request, token: str, period: str | None = None) -> Response:
    """A ticket's read-only link: one contract's page for its customer, no session, no forms."""
    async with request.app.state.sessions() as db:
        got = await view_of(db, token[:100])
    if got is None:
        return page(request, "link.html", 410, token=None, error="this link has expired; sign in to see the page")
    who, contract_id = got
    return page(request, "contract.html", s=None, readonly=True, **await month_view(request, who, contract_id, period))


@router.get("/portal/contracts/{contract_id}/statement")
async def statement(request: Request, contract_id: str, s: Viewer, period: str | None = None,
                    format: Literal["html", "pdf"] = "html") -> Response:
    async with request.app.state.read_engine.connect() as conn:
        return await statement_response(request, s.principal, conn, contract_id, period, format)


@router.post("/portal/contracts/{contract_id}/claims")
async def report_fault(request: Request, contract_id: str, s: Poster,
                       category: Annotated[str, Form(max_length=40)],
                       started_at: Annotated[str, Form(max_length=40)],
                       note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """A customer's fault report: the API's claim, with its rules and errors."""
    view = await month_view(request, s.principal, contract_id, None)
    try:
        local = datetime.fromisoformat(started_at)
        if local.tzinfo is None:  # the form's datetime-local is the contract's local time
            local = local.replace(tzinfo=ZoneInfo(view["tz"]))
        body = IncidentCreate(contract_id=contract_id, category=category, started_at=local, note=note)
        async with request.app.state.sessions() as db:
            await create_incident(body=body, request=request, who=s.principal, db=db)
    except (ValueError, CaseError, HTTPException) as exc:
        status = exc.status_code if isinstance(exc, HTTPException) else 422
        message = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return page(request, "contract.html", status, s=s, claim_error=message, **view)
    return RedirectResponse(f"/portal/contracts/{contract_id}?period={view['period']}#claims", status_code=303)
