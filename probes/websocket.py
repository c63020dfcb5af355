"""WebSocket (blackbox_exporter's websocket prober): the HTTP upgrade, then its
query_response over messages — each ``expect`` a regex over the next message,
each ``send`` a text message (``${1}`` from the match). The connection is ours
(resolved, checked against the address policy, timed); the websockets library
speaks the protocol over it."""
from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus, WebSocketException

from probes import series
from probes.http_module import ClientAuth, HeaderValues, split_headers
from probes.net import (
    HeaderName,
    HeaderValue,
    IpChoice,
    SecretHeader,
    TargetModel,
    TlsOptions,
    connected_socket,
    tls_context,
)
from probes.options import IpSection, Regex, Section, TlsConfig, refused
from probes.registry import Prober
from probes.result import ProbeFailure, ProbeResult, Run, guarded
from probes.tcp import MAX_STEPS, expand

MAX_MESSAGE = 1024 * 1024


class WsStep(TargetModel):
    expect: str | None = None
    send: str | None = None


class WebsocketTarget(IpChoice):
    url: str = Field(pattern=r"^wss?://")
    headers: dict[HeaderName, HeaderValue] = {}
    secret_headers: list[SecretHeader] = []  # (an Authorization among them): sealed, never shown
    query_response: list[WsStep] = Field([], max_length=MAX_STEPS)
    tls: TlsOptions = TlsOptions()


async def probe(target: WebsocketTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        parts = urlsplit(target.url)
        secure, host = parts.scheme == "wss", parts.hostname or ""
        sock = await connected_socket(run, host, parts.port or (443 if secure else 80), target)
        run.phase("processing")
        headers = {**target.headers, **{h.name: h.secret for h in target.secret_headers}}
        tls = {"ssl": tls_context(target.tls), "server_hostname": target.tls.server_name or host} if secure else {}
        try:
            conn = await ws_connect(target.url, sock=sock, additional_headers=headers, proxy=None,
                                    open_timeout=timeout, max_size=MAX_MESSAGE, ping_interval=None,
                                    compression=None, **tls)
        except InvalidStatus as exc:
            run.detail["status"] = exc.response.status_code
            raise ProbeFailure(f"bad_status:{exc.response.status_code}") from None
        run.detail["status"], run.detail["_upgraded"] = 101, True
        try:
            run.phase("transfer")
            for i, step in enumerate(target.query_response):
                match = None
                if step.expect is not None:
                    message = await conn.recv()
                    text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                    match = re.search(step.expect, text)
                    if match is None:
                        raise ProbeFailure("regex:expect", step=i)
                if step.send:
                    await conn.send(expand(step.send, match))
        finally:
            await conn.close()
        return run.ok()

    return await guarded(run, body, timeout, _error)


def _error(exc: BaseException) -> str | None:
    return "websocket:closed" if isinstance(exc, WebSocketException) else None


# ---- blackbox_exporter's websocket module (CONFIGURATION.md <websocket_probe>) ----

class WsQueryResponse(Section):
    expect: Regex | None = None
    send: str | None = None
    starttls: bool = False  # (in the documented shape; meaningless over a WebSocket: blackbox ignores it)


WS_PROXY = "a proxy for a WebSocket"


class HttpClientConfig(ClientAuth):
    tls_config: TlsConfig = TlsConfig()
    enable_http2: bool = True
    follow_redirects: bool = True
    proxy_url: Annotated[str | None, refused(WS_PROXY)] = None
    no_proxy: Annotated[str | None, refused(WS_PROXY)] = None
    proxy_from_environment: Annotated[bool, refused(WS_PROXY, False)] = False
    proxy_connect_header: Annotated[dict | None, refused(WS_PROXY)] = None
    oauth2: Annotated[dict | None, refused("OAuth 2.0 for a WebSocket")] = None

    @model_validator(mode="after")
    def _credentials(self):
        self.check_auth()
        return self


class WebsocketModule(IpSection):
    http_config: HttpClientConfig = HttpClientConfig()
    headers: dict[str, HeaderValues] = {}
    query_response: list[WsQueryResponse] = Field([], max_length=MAX_STEPS)


def _from_module(m: WebsocketModule, target: str) -> dict:
    plain, secrets = split_headers(m.headers, m.http_config.auth_header())
    return {"url": target if "://" in target else f"ws://{target}", "headers": plain, "secret_headers": secrets,
            "query_response": [{"expect": q.expect, "send": q.send} for q in m.query_response],
            "tls": m.http_config.tls_config.options(), **m.ip()}


WS_PHASES = ("resolve", "connect", "processing", "transfer")


def _series(result: ProbeResult) -> list[series.Series]:
    S, d = series.Series, result.detail
    out = [S("probe_websocket_duration_seconds", "Duration of websocket request by phase",
             0.0 if result.error == f"timeout:{p}" else result.phases.get(p, 0.0), {"phase": p})
           for p in WS_PHASES if p != "transfer" or "transfer" in result.phases]
    out += [S("probe_websocket_status_code", "Response HTTP status code", d.get("status", 0)),
            S("probe_websocket_connection_upgraded", "Indicates if the websocket connection was successfully "
              "upgraded", int(bool(d.get("_upgraded")))),
            S("probe_websocket_failed_due_to_regex", "Indicates if probe failed due to regex",
              int((result.error or "").startswith("regex:")))]
    return out + series.address(result)


PROBER = Prober("websocket", WebsocketTarget, probe, (), None, _from_module, WebsocketModule, _series,
                "ws://127.0.0.1:1/")
