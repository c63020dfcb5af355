"""``GET /probe?module=M&target=T``: blackbox_exporter-compatible, so an existing
Prometheus scrape config can point at slawatch unchanged (with a scrape token).

The target comes from the request, so this route is where the server reaches
the network for someone else: only addresses ``SLAWATCH_PROBE_ALLOW`` permits
(checked here for the target's host, and again by the probe at every connect,
redirects included), at most ``SLAWATCH_PROBE_CONCURRENCY`` at once (429)."""
from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.api.deps import scraper
from app.probing.modules import TargetError, build_target
from probes import PROBES
from probes.net import is_ip
from probes.policy import POLICY, AddressPolicy

router = APIRouter(tags=["probes"])
RESOLVE_SECONDS = 2.0


class ProbeGate:
    """The route's address policy and its concurrency budget."""

    def __init__(self, allow: list[str], concurrency: int):
        self.policy, self.limit, self.running = AddressPolicy(allow), concurrency, 0

    async def check_host(self, host: str | None) -> None:
        if not host:
            return
        if is_ip(host):
            addresses = [host]
        else:
            try:
                infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None), RESOLVE_SECONDS)
            except (OSError, TimeoutError):
                return  # unresolvable: the probe reports resolve:failed
            addresses = sorted({i[4][0] for i in infos})
        denied = [a for a in addresses if not self.policy.permits(a, None if is_ip(host) else host)]
        if denied:
            raise HTTPException(403, f"target host {host!r} ({denied[0]}) is not allowed by SLAWATCH_PROBE_ALLOW")


def _host(target) -> str | None:
    url = getattr(target, "url", None)
    if url is not None:
        return urlsplit(url).hostname
    return getattr(target, "host", None) or getattr(target, "server", None)


@router.get("/probe", response_class=Response, dependencies=[Depends(scraper)])
async def probe(request: Request, module: str, target: str) -> Response:
    modules = request.app.state.probe_modules
    gate: ProbeGate = request.app.state.probe_gate
    m = modules.get(module)
    if m is None:
        raise HTTPException(400, f"unknown module {module!r} (known: {', '.join(sorted(modules))})")
    try:
        t = build_target(m, target)
    except TargetError as exc:
        raise HTTPException(400, f"target {target!r}: {exc}") from None
    if gate.running >= gate.limit:
        raise HTTPException(429, f"{gate.limit} probes are running (SLAWATCH_PROBE_CONCURRENCY)",
                            headers={"Retry-After": "1"})
    gate.running += 1
    try:
        await gate.check_host(_host(t))
        token = POLICY.set(gate.policy)  # every connect of this probe is checked too
        try:
            result = await PROBES[m.prober](t, m.timeout.total_seconds())
        finally:
            POLICY.reset(token)
    finally:
        gate.running -= 1
    return Response(generate_latest(_registry(result)), media_type=CONTENT_TYPE_LATEST)


def _registry(result) -> CollectorRegistry:
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
        expiry = datetime.fromisoformat(result.detail["cert_not_after"]).timestamp()
        Gauge("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", registry=reg).set(expiry)
    failed = Gauge("probe_failed_due_to", "The stable error code of a failed probe", ["error"], registry=reg)
    if result.error:
        failed.labels(result.error).set(1)
    return reg
