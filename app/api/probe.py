"""``GET /probe?module=M&target=T``: blackbox_exporter-compatible, so an existing
Prometheus scrape config can point at slawatch unchanged (with a scrape token).

The target comes from the request, so this route is where the server reaches
the network for someone else: only addresses ``SLAWATCH_PROBE_ALLOW`` permits
(checked here for the target's host, and again by the probe at every connect,
redirects included), at most ``SLAWATCH_PROBE_CONCURRENCY`` at once (429)."""
from __future__ import annotations

import asyncio
import math
from urllib.parse import urlsplit

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.api.deps import scraper
from app.auth.vault import mask
from app.probing.modules import TargetError, build_target
from probes import PROBERS, PROBES, series
from probes.net import is_ip
from probes.policy import POLICY, AddressPolicy

router = APIRouter(tags=["probes"])
RESOLVE_SECONDS = 2.0
TIMEOUT_OFFSET = 0.5  # blackbox_exporter's --timeout-offset default: the answer must reach Prometheus in time
DEFAULT_SCRAPE_TIMEOUT = 120.0  # blackbox's, without Prometheus's header
MIN_TIMEOUT = 0.1


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


def probe_timeout(request: Request, module) -> float:
    """blackbox_exporter's rule: Prometheus's scrape timeout (its header; 120 s without
    one) less ``TIMEOUT_OFFSET``, or the module's own timeout where that is shorter."""
    raw = request.headers.get("x-prometheus-scrape-timeout-seconds")
    try:
        scrape = float(raw) if raw else 0.0
    except ValueError:
        raise HTTPException(400, f"X-Prometheus-Scrape-Timeout-Seconds: {raw[:40]!r} is not a number") from None
    if not math.isfinite(scrape) or scrape < 0:
        raise HTTPException(400, f"X-Prometheus-Scrape-Timeout-Seconds: {raw[:40]!r} is not a number of seconds")
    most = (scrape or DEFAULT_SCRAPE_TIMEOUT) - TIMEOUT_OFFSET
    own = module.timeout.total_seconds()
    return own if 0 < own < most or most <= 0 < own else max(most, MIN_TIMEOUT)


@router.get("/probe", response_class=Response, dependencies=[Depends(scraper)])
async def probe(request: Request, module: str, target: str, hostname: str | None = Query(None, max_length=253),
                debug: bool = False) -> Response:
    modules = request.app.state.probe_modules
    gate: ProbeGate = request.app.state.probe_gate
    m = modules.get(module)
    if m is None:
        raise HTTPException(400, f"unknown module {module!r} (known: {', '.join(sorted(modules))})")
    try:
        t = build_target(m, target, hostname)
    except TargetError as exc:
        raise HTTPException(400, f"target {target!r}: {exc}") from None
    timeout = probe_timeout(request, m)
    if gate.running >= gate.limit:
        raise HTTPException(429, f"{gate.limit} probes are running (SLAWATCH_PROBE_CONCURRENCY)",
                            headers={"Retry-After": "1"})
    gate.running += 1
    try:
        await gate.check_host(_host(t))
        token = POLICY.set(gate.policy)  # every connect of this probe is checked too
        try:
            result = await PROBES[m.prober](t, timeout)
        finally:
            POLICY.reset(token)
    finally:
        gate.running -= 1
    metrics = series.render(_series(result, m.prober))
    if debug:  # blackbox's debug page: what the probe did, the metrics, the module
        return Response(_debug(result, metrics, module, m, t, timeout), media_type="text/plain; charset=utf-8")
    return Response(metrics, media_type=CONTENT_TYPE_LATEST)


def _debug(result, metrics: bytes, name: str, module, target, timeout: float) -> str:
    lines = [f"Beginning probe probe={module.prober} timeout_seconds={timeout:g}",
             f"Target: {_hide(mask(target.model_dump(mode='json', exclude_defaults=True)))}"]
    lines += [f"Phase {phase} took {seconds:.6f} s" for phase, seconds in result.phases.items()]
    lines += [f"{k}: {v}" for k, v in result.detail.items() if not k.startswith("_")]
    lines.append("Probe succeeded" if result.ok else f"Probe failed error={result.error}")
    options = module.options
    section = options.model_dump(mode="json", exclude_defaults=True) if hasattr(options, "model_dump") else options
    config = yaml.safe_dump({name: {"prober": module.prober, "timeout": f"{module.timeout.total_seconds():g}s",
                                    module.prober: _hide(mask(section))}}, allow_unicode=True,
                            sort_keys=False)
    return ("Logs for the probe:\n" + "\n".join(lines) + "\n\n\n\nMetrics that would have been returned:\n"
            + metrics.decode() + "\n\n\nModule configuration:\n" + config)


MODULE_SECRETS = frozenset({"credentials", "bearer_token", "authorization"})  # blackbox shows them as <secret>


def _hide(obj):
    if isinstance(obj, dict):
        return {k: "<secret>" if k.lower() in MODULE_SECRETS and isinstance(v, str) else _hide(v)
                for k, v in obj.items()}
    return [_hide(v) for v in obj] if isinstance(obj, list) else obj


def _series(result, prober: str) -> list[series.Series]:
    """blackbox_exporter's series for the prober, then slawatch's own (its own names)."""
    p = PROBERS[prober]
    out = p.series(result) + ([] if p.module is not None else series.tls(result))
    S = series.Series
    out += [S("probe_success", "Displays whether or not the probe was a success", int(result.ok)),
            S("probe_duration_seconds", "Returns how long the probe took to complete in seconds",
              result.duration_seconds)]
    out += [S("probe_phase_duration_seconds", "Duration of each phase of the probe (slawatch's phases)", seconds,
              {"phase": name}) for name, seconds in result.phases.items()]
    if result.error:
        out.append(S("probe_failed_due_to", "The stable error code of a failed probe (slawatch's)", 1.0,
                     {"error": result.error}))
    return out
