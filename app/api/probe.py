"""``GET /probe?module=M&target=T``: blackbox_exporter-compatible, so an existing
Prometheus scrape config can point at slawatch unchanged."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.api.deps import scraper
from app.probing.modules import TargetError, build_target
from probes import PROBES

router = APIRouter(tags=["probes"])


@router.get("/probe", response_class=Response, dependencies=[Depends(scraper)])
async def probe(request: Request, module: str, target: str) -> Response:
    modules = request.app.state.probe_modules
    m = modules.get(module)
    if m is None:
        raise HTTPException(400, f"unknown module {module!r} (known: {', '.join(sorted(modules))})")
    try:
        t = build_target(m, target)
    except TargetError as exc:
        raise HTTPException(400, f"target {target!r}: {exc}") from None
    result = await PROBES[m.prober](t, m.timeout.total_seconds())
    reg = CollectorRegistry()
    Gauge("probe_success", "Displays whether or not the probe was a success", registry=reg).set(int(result.ok))
    Gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds",
          registry=reg).set(result.duration_seconds)
    phases = Gauge("probe_phase_duration_seconds", "Duration of each phase of the probe", ["phase"], registry=reg)
    for name, seconds in result.phases.items():
        phases.labels(name).set(seconds)
    if "status" in result.detail:
        Gauge("probe_http_status_code", "Response HTTP status code", registry=reg).set(result.detail["status"])
    if "cert_days_left" in result.detail:
        from datetime import datetime
        expiry = datetime.fromisoformat(result.detail["cert_not_after"]).timestamp()
        Gauge("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", registry=reg).set(expiry)
    failed = Gauge("probe_failed_due_to", "The stable error code of a failed probe", ["error"], registry=reg)
    if result.error:
        failed.labels(result.error).set(1)
    return Response(generate_latest(reg), media_type=CONTENT_TYPE_LATEST)
