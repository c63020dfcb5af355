"""``GET /probe?module=M&target=T``: blackbox_exporter-compatible, so an existing
Prometheus scrape config can point at slawatch unchanged (with a scrape token).

The target comes from the request, so this route is where the server reaches
the network for someone else: only addresses ``SLAWATCH_PROBE_ALLOW`` permits
(checked here for the target's host, and again by the probe at every connect,
redirects included), at most ``SLAWATCH_PROBE_CONCURRENCY`` at once (429)."""
from __future__ import annotations

import asyncio
import logging
import math
import time
from urllib.parse import parse_qs, quote, urlsplit

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from app.api.deps import SCRAPERS, require, scraper
from app.auth.service import authenticate
from app.auth.vault import mask
from app.contracts.yamlfile import RulesError
from app.probing.modules import TargetError, build_target
from probes import PROBERS, PROBES, series
from probes.net import is_ip
from probes.policy import POLICY, AddressPolicy

router = APIRouter(tags=["probes"])
RESOLVE_SECONDS = 2.0
TIMEOUT_OFFSET = 0.5  # blackbox_exporter's --timeout-offset default: the answer must reach Prometheus in time
DEFAULT_SCRAPE_TIMEOUT = 120.0  # blackbox's, without Prometheus's header
MIN_TIMEOUT = 0.1


class Targets:
    """Targets built from (module, target, hostname), kept ``KEEP_SECONDS``: Prometheus
    asks for the same ones every scrape, and building one (its options checked, a
    credentials file read) costs more than the probe's own connect. A rotated
    credentials file is read again within ``KEEP_SECONDS``."""

    KEEP_SECONDS, MOST = 60.0, 4096

    def __init__(self) -> None:
        self.built: dict[tuple, tuple[float, object, object]] = {}

    def get(self, module, target: str, hostname: str | None):
        key, now = (id(module), target, hostname), time.monotonic()  # (a reloaded module is a new object)
        hit = self.built.get(key)
        if hit is not None and now - hit[0] < self.KEEP_SECONDS:
            return hit[2]
        try:
            built = build_target(module, target, hostname)
        except TargetError as exc:
            raise HTTPException(400, f"target {target!r}: {exc}") from None
        if len(self.built) >= self.MOST:
            self.built.clear()
        self.built[key] = (now, module, built)  # the module held: its id stays its own
        return built


class ProbeGate:
    """The route's address policy, its concurrency budget and its built targets."""

    def __init__(self, allow: list[str], concurrency: int):
        self.policy, self.limit, self.running = AddressPolicy(allow), concurrency, 0
        self.targets = Targets()

    async def check_host(self, host: str | None) -> None:
        if not host:
            return
        if is_ip(host):
            addresses = [host]
        else:
            try:
                infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None), RESOLVE_SECONDS)
            except (OSError, TimeoutError, UnicodeError):  # (a name IDNA cannot encode)
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


def probe_timeout(header: str | None, module) -> float:
    """blackbox_exporter's rule: Prometheus's scrape timeout (its header; 120 s without
    one) less ``TIMEOUT_OFFSET``, or the module's own timeout where that is shorter."""
    try:
        scrape = float(header) if header else 0.0
    except ValueError:
        raise HTTPException(400, f"X-Prometheus-Scrape-Timeout-Seconds: {header[:40]!r} is not a number") from None
    if not math.isfinite(scrape) or scrape < 0:
        raise HTTPException(400, f"X-Prometheus-Scrape-Timeout-Seconds: {header[:40]!r} is not a number of seconds")
    most = (scrape or DEFAULT_SCRAPE_TIMEOUT) - TIMEOUT_OFFSET
    own = module.timeout.total_seconds()
    return own if 0 < own < most or most <= 0 < own else max(most, MIN_TIMEOUT)


async def answer(state, module: str, target: str, hostname: str | None, debug: bool,
                 scrape_timeout: str | None) -> tuple[bytes, str]:
    """One probe as blackbox_exporter answers it: (body, media type). Bad input raises
    HTTPException before anything reaches the network."""
    modules, gate = state.probe_modules, state.probe_gate
    m = modules.get(module)
    if m is None:
        raise HTTPException(400, f"unknown module {module!r} (known: {', '.join(sorted(modules))})")
    t = gate.targets.get(m, target, hostname)
    timeout = probe_timeout(scrape_timeout, m)
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
        return _debug(result, metrics, module, m, t, timeout).encode(), "text/plain; charset=utf-8"
    return metrics, CONTENT_TYPE_LATEST


@router.get("/probe", response_class=Response, dependencies=[Depends(scraper)])
async def probe(request: Request, module: str, target: str, hostname: str | None = Query(None, max_length=253),
                debug: bool = False) -> Response:
    body, media = await answer(request.app.state, module, target, hostname, debug,
                               request.headers.get("x-prometheus-scrape-timeout-seconds"))
    return Response(body, media_type=media)


class ModulesReloaded(BaseModel):
    modules: list[str]


@router.post("/-/reload", response_model=ModulesReloaded, dependencies=[Depends(require("admin"))])
async def reload_modules(request: Request) -> ModulesReloaded:
    """blackbox_exporter's reload: the modules file read again; a bad file is a 422
    naming file:line and the running set stays (blackbox's reload gauge says so too)."""
    modules = request.app.state.probe_modules
    try:
        modules.reload()
    except RulesError as exc:
        raise HTTPException(422, str(exc)) from None
    return ModulesReloaded(modules=sorted(modules))


class ProbeFastPath:
    """The served application (``slawatch run``): ``GET /probe`` answered ahead of the
    framework's middleware, routing and dependencies — half a scrape's CPU
    (benchmarks/probes.py) — for a well-formed scrape by a live scrape or staff
    token. Anything else (no token, a bad parameter, an error) goes on to the route
    above, which answers it in the API's own words; every other request goes to
    the app unchanged."""

    PARAMS = frozenset({"module", "target", "hostname", "debug"})

    def __init__(self, app):
        self.app, self.state = app, app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/probe" and scope["method"] == "GET" and await self._scrape(scope, send):
            return  # a successful scrape: no access-log line (blackbox_exporter writes none either)
        await logged(self.app, scope, receive, send)

    async def _scrape(self, scope, send) -> bool:
        """Answer a well-formed scrape here; False: the app is to answer it."""
        headers = {k: v for k, v in scope["headers"] if k in (b"authorization", b"x-prometheus-scrape-timeout-seconds")}
        query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        state = self.state
        if (scheme.lower() != "bearer" or not token or not query.keys() <= self.PARAMS
                or any(len(v) != 1 for v in query.values()) or "module" not in query or "target" not in query
                or len(query.get("hostname", [""])[0]) > 253
                or query.get("debug", ["false"])[0] not in ("false", "true")):
            return False
        who = await authenticate(state.sessions, token.strip())
        if who is None or who.role not in SCRAPERS:
            return False
        timeout = headers.get(b"x-prometheus-scrape-timeout-seconds")
        try:
            body, media = await answer(state, query["module"][0], query["target"][0],
                                       query.get("hostname", [None])[0], query.get("debug", ["false"])[0] == "true",
                                       timeout.decode("latin-1") if timeout is not None else None)
        except HTTPException:
            return False  # the route says what is wrong, as every route does
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return True


ACCESS = logging.getLogger("slawatch.access")  # uvicorn's own access log is off under ProbeFastPath: this is it


async def logged(app, scope, receive, send) -> None:
    """The request through ``app``, then its access-log line (uvicorn's format and
    arguments, so ``app.logs.RedactQuery`` applies)."""
    status = 500

    async def sending(message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        await app(scope, receive, sending)
    finally:
        if ACCESS.isEnabledFor(logging.INFO):
            client = scope.get("client")
            path = quote(scope.get("root_path", "") + scope["path"])
            if scope.get("query_string"):
                path += "?" + scope["query_string"].decode("ascii", "replace")
            ACCESS.info('%s - "%s %s HTTP/%s" %d', f"{client[0]}:{client[1]}" if client else "-", scope["method"],
                        path, scope.get("http_version", "1.1"), status)


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
