"""SMS delivery reports: where a gateway reports a probe's message delivered
(Kannel ``dlr-url``, a generic gateway's callback, or an inbound copy of the
text). No token: a gateway cannot carry one. A report only completes a probe
that waits for its 128-bit nonce *and* comes from that probe's gateway (its
address, or the target's ``report_sources``) — it reveals and changes nothing
else, and its request line is never logged with the nonce. A report no probe
here waits for goes to the workers (``app.probing.sms_relay``)."""
from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request

from app.api import schemas as S
from probes.sms_delivery import DELIVERIES

router = APIRouter(prefix="/v1/sms", tags=["sms"])


async def _report(request: Request, params: dict[str, str]) -> dict:
    """Complete the probe waiting here, or relay the report to the workers (PostgreSQL)."""
    source = request.client.host if request.client else None
    if DELIVERIES.report_params(params, source):
        return {"matched": True, "relayed": False}
    relay = request.app.state.sms_relay
    return {"matched": False, "relayed": relay is not None and await relay.publish(params, source)}


@router.get("/deliveries", response_model=S.Delivery)
async def delivery_report(request: Request) -> dict:
    """Query parameters: ``nonce`` and Kannel's ``type`` (``dlr-url``), or an inbound ``text``."""
    return await _report(request, dict(request.query_params))


@router.post("/deliveries", response_model=S.Delivery)
async def delivery_report_form(request: Request) -> dict:
    """The same as a form body (query parameters count too)."""
    params = dict(request.query_params)
    params.update({k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()})
    return await _report(request, params)
