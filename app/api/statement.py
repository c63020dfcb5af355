"""``GET /v1/contracts/{id}/statement?period=YYYY-MM[&format=pdf]``: the customer's
monthly statement (``app.reports.statement``), as HTML or PDF."""
from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.contracts import check_period, now
from app.api.deps import Caller, Reader, not_found
from app.auth.service import Principal
from app.calendars.periods import month_bounds
from app.contracts.types import parse_month
from app.evaluation.service import evaluate_case, template_for
from app.incidents.cases import visible_case
from app.reports.statement import render
from app.storage.tables import Customer

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.get("/{contract_id}/statement", response_class=HTMLResponse)
async def statement(*, contract_id: str, request: Request, period: str | None = None,
                    format: Literal["html", "pdf"] = "html",
                    who: Caller, db: Reader) -> Response:
    return await statement_response(request, who, db, contract_id, period, format)


async def statement_response(request: Request, who: Principal, db: AsyncConnection, contract_id: str,
                             period: str | None, format: str) -> Response:
    """The statement as the API and the portal serve it."""
    check_period(period)
    case = await visible_case(db, who, contract_id, period, now())
    if case is None:
        raise not_found("contract", contract_id)
    if who.is_customer:
        request.app.state.limits["statements"].take(who.customer_id)
    report = evaluate_case(case, request.app.state.rules)
    y, m = parse_month(case.period)
    p0, p1 = month_bounds(y, m, ZoneInfo(case.contract.timezone))
    template = template_for(case.contract, request.app.state.rules)
    customer = (await db.execute(select(Customer.__table__.c.name)
                                 .where(Customer.__table__.c.id == case.contract.customer))).scalar()
    page = render(report, case.contract, case.incidents, p0, p1, template.provider, customer or "")
    if format == "pdf":
        pdf = await request.app.state.pdf.render(page)  # off the event loop: probes never wait for it
        name = f"statement-{contract_id}-{case.period}.pdf"
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})
    return HTMLResponse(page)
