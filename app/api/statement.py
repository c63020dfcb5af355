"""``GET /v1/contracts/{id}/statement?period=YYYY-MM``: the customer's monthly
statement as one HTML page — incidents, each window with its deadline and outcome,
the availability timeline as inline SVG, the credit lines with their clauses, the
cap and the amount owed. Built from the same report as ``slawatch evaluate``."""
from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.contracts import check_period, now
from app.api.deps import not_found, principal, reader
from app.auth.service import Principal
from app.calendars.periods import month_bounds
from app.contracts.types import parse_month
from app.evaluation.service import evaluate_case
from app.incidents.cases import visible_case

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])
STATUS_ZH = {"met": "达标 met", "breached": "超时 breached", "running": "进行中 running", "excluded": "免责 excluded"}
CSS = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}"
       ".breached{color:#b00020;font-weight:bold}.total{font-size:1.3em}")


def timeline_svg(report: dict, p0: datetime, p1: datetime, incidents) -> str:
    """Outage bars across the month (provider outage in red)."""
    width, span = 720, (p1 - p0).total_seconds()
    bars = []
    for inc in incidents:
        if inc.attribution not in ("provider", "unknown"):
            continue
        start = max(inc.started_at, p0)
        end = min(inc.resolved_at or p1, p1)
        if end <= start:
            continue
        x = (start - p0).total_seconds() / span * width
        w = max((end - start).total_seconds() / span * width, 1.5)
        bars.append(f'<rect x="{x:.1f}" y="10" width="{w:.1f}" height="30" fill="#d32f2f">'
                    f"<title>{escape(inc.id)}</title></rect>")
    ticks = "".join(f'<text x="{d / ((p1 - p0).days) * width:.0f}" y="58" font-size="10">{d + 1}</text>'
                    for d in range(0, (p1 - p0).days, 5))
    avail = report["outage"]["availability_percent"]
    return (f'<svg role="img" aria-label="availability {avail}%" width="{width}" height="64" '
            f'xmlns="http://www.w3.org/2000/svg"><rect x="0" y="10" width="{width}" height="30" fill="#c8e6c9"/>'
            f"{''.join(bars)}{ticks}</svg>")


def render(report: dict, contract, incidents, p0, p1) -> str:
    c = report["credit"]
    rows = "".join(
        f"<tr><td>{escape(w['incident_id'])}</td><td>{escape(w['window'])}</td>"
        f"<td>{escape(w['clause'] or '')} {escape(w.get('original') or '')}</td><td>{escape(w['deadline'] or '')}</td>"
        f"<td class=\"{w['status']}\">{STATUS_ZH[w['status']]}</td><td>{w['overdue_seconds']}</td></tr>"
        for w in report["windows"])
    lines = "".join(
        f"<tr><td>{escape(x['rule'])}</td><td>{escape(x.get('clause') or '—')} {escape(x.get('original') or x.get('note') or '')}</td>"
        f"<td>{escape(x['basis'])}</td><td>¥{x['amount']}</td></tr>" for x in c["lines"])
    cap = f"¥{c['cap']} ({escape(c['cap_rule'])}, {escape(c['cap_clause'] or '')})" if c["cap"] else "无上限 no cap"
    t = report["termination_right"]
    term = (f"<p class=\"breached\">终止权 Termination right granted since {escape(t['since'])} ({escape(t['clause'])})"
            + (" — 待确认 provisional: it rests on an incident not yet classified" if t.get("provisional") else "")
            + "</p>" if t["granted"] else "")
    provisional = (f"<p>其中已确认 Confirmed: ¥{c['owed']}; 待确认 Provisional (claims not yet classified): "
                   f"¥{c['owed_provisional']}</p>" if c.get("owed_provisional", "0.00") != "0.00" else "")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>SLA statement {escape(contract.id)} {escape(report['period'])}</title><style>{CSS}</style></head><body>
<h1>服务水平对账单 SLA statement</h1>
<p>合同 Contract: <b>{escape(contract.id)}</b> ({escape(contract.title or contract.template)}) — 期间 Period: <b>{escape(report['period'])}</b> — {escape(report['timezone'])}</p>
<h2>可用性 Availability: {report['outage']['availability_percent']}%</h2>
{timeline_svg(report, p0, p1, incidents)}
<p>中断时间 Provider outage: {report['outage']['seconds']} s; affected days: {escape(', '.join(report['outage']['affected_days']) or '—')}</p>
<h2>响应时限 Response windows</h2>
<table><tr><th>Incident</th><th>Window</th><th>Clause 条款</th><th>Deadline</th><th>Outcome</th><th>Overdue (s)</th></tr>{rows}</table>
<h2>赔偿 Credit</h2>
<table><tr><th>Rule</th><th>Clause 条款</th><th>Basis</th><th>Amount</th></tr>{lines}</table>
<p>合计 Uncapped: ¥{c['uncapped']} — 上限 Cap: {cap}</p>
<p class="total">应付 Amount owed: <b>¥{c['amount']}</b> {c['currency']}</p>
{provisional}
{term}
<p><small>Computed {escape(report['at'])} by slawatch from the contract's clauses; rows marked policy rest on an operator default.</small></p>
</body></html>"""


@router.get("/{contract_id}/statement", response_class=HTMLResponse)
async def statement(contract_id: str, request: Request, period: str | None = None,
                    format: Literal["html", "pdf"] = "html",
                    who: Principal = Depends(principal), db: AsyncConnection = Depends(reader)) -> Response:
    check_period(period)
    case = await visible_case(db, who, contract_id, period, now())
    if case is None:
        raise not_found("contract", contract_id)
    if who.is_customer:
        request.app.state.limits["statements"].take(who.customer_id)
    report = evaluate_case(case, request.app.state.rules)
    y, m = parse_month(case.period)
    from zoneinfo import ZoneInfo
    p0, p1 = month_bounds(y, m, ZoneInfo(case.contract.timezone))
    page = render(report, case.contract, case.incidents, p0, p1)
    if format == "pdf":
        pdf = await request.app.state.pdf.render(page)  # off the event loop: probes never wait for it
        name = f"statement-{contract_id}-{case.period}.pdf"
        return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
    return HTMLResponse(page)
