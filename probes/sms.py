"""SMS: submit a message with a unique nonce through a gateway adapter; it is
delivered when a delivery report or the inbound copy reaches slawatch's webhook
before the timeout. Adapters: Kannel ``sendsms`` and a generic HTTP gateway
(URL template and success pattern).

Never sends outside the 07:00–22:30 local window (inolink-sms 一.3, SEMANTICS §7)
— a message there would be deferred to 08:05, not slow — and never repeats a
text to a number within 10 h (四.16: the customer pays for repeats)."""
from __future__ import annotations

import asyncio
import ipaddress
import re
import uuid
from datetime import datetime
from datetime import time as clock
from typing import Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, model_validator

from probes.net import TargetModel, is_ip
from probes.registry import Prober
from probes.result import ProbeFailure, ProbeResult, Run, connect_error, guarded
from probes.sms_delivery import DELIVERED, DELIVERIES, REJECTED


class KannelGateway(TargetModel):
    url: str  # smsbox sendsms base, e.g. http://127.0.0.1:13013
    username: str
    password: str
    sender: str | None = None


class HttpGateway(TargetModel):
    url_template: str  # {to} {text} {nonce} {callback} are filled in, URL-encoded
    method: Literal["GET", "POST"] = "GET"
    success_pattern: str = ".*"
    rejected_pattern: str | None = None  # content refused: the customer's, not an outage (二.9)


class SmsTarget(TargetModel):
    to: str
    kannel: KannelGateway | None = None
    http: HttpGateway | None = None
    callback_url: str  # where the gateway reports delivery (slawatch's webhook); ?nonce=… is added
    text: str = "slawatch delivery check"
    timezone: str = "Asia/Shanghai"
    send_opens: clock = clock(7, 0)
    send_closes: clock = clock(22, 30)
    carrier: str | None = Field(None, description="label only: one check per carrier (一.2)")
    # where delivery reports may come from (CIDRs); default: the gateway host's addresses
    report_sources: list[str] | None = None

    @model_validator(mode="after")
    def _one_gateway(self):
        if (self.kannel is None) == (self.http is None):
            raise ValueError("give exactly one of kannel or http")
        for s in self.report_sources or ():
            ipaddress.ip_network(s, strict=False)  # a ValueError names the bad one
        return self

    def gateway_host(self) -> str:
        url = self.kannel.url if self.kannel is not None else self.http.url_template.format(
            to="", text="", nonce="", callback="")
        return urlsplit(url).hostname or ""


async def report_sources(t: SmsTarget) -> list[str]:
    """The networks a delivery report for ``t`` may come from: its own list, or
    the addresses its gateway's host resolves to."""
    if t.report_sources:
        return t.report_sources
    host = t.gateway_host()
    if is_ip(host):
        return [host]
    infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    return sorted({i[4][0].split("%", 1)[0] for i in infos})


def _callback(t: SmsTarget, nonce: str, kannel: bool) -> str:
    sep = "&" if "?" in t.callback_url else "?"
    return f"{t.callback_url}{sep}nonce={nonce}" + ("&type=%d" if kannel else "")


async def _submit(client: httpx.AsyncClient, t: SmsTarget, text: str, nonce: str) -> None:
    if t.kannel is not None:
        g = t.kannel
        params = {"username": g.username, "password": g.password, "to": t.to, "text": text,
                  "dlr-mask": "31", "dlr-url": _callback(t, nonce, True)}
        if g.sender:
            params["from"] = g.sender
        res = await client.get(f"{g.url.rstrip('/')}/cgi-bin/sendsms", params=params)
        if res.status_code in (401, 403):
            raise ProbeFailure("auth_failed", status=res.status_code)
        if res.status_code not in (200, 202):
            raise ProbeFailure(f"bad_status:{res.status_code}", reply=res.text[:120])
        return
    g = t.http
    fill = {k: quote(v, safe="") for k, v in
            {"to": t.to, "text": text, "nonce": nonce, "callback": _callback(t, nonce, False)}.items()}
    url = g.url_template.format(**fill)
    res = await client.request(g.method, url)
    if g.rejected_pattern and re.search(g.rejected_pattern, res.text):
        raise ProbeFailure("rejected:content", rejected=True, reply=res.text[:120])
    if not (200 <= res.status_code < 300 and re.search(g.success_pattern, res.text)):
        raise ProbeFailure(f"bad_status:{res.status_code}" if res.status_code >= 300 else "gateway:refused",
                           reply=res.text[:120])


def in_window(t: SmsTarget, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(t.timezone)).time()
    return t.send_opens <= local < t.send_closes


async def probe(target: SmsTarget, timeout: float) -> ProbeResult:
    run = Run()
    if not in_window(target, run.started_at):
        return run.skip("outside_send_window")
    nonce = uuid.uuid4().hex
    # a fresh nonce in every text: never the same text to a number twice (inolink-sms 四.16)
    text = f"{target.text} slw-{nonce}"

    def translate(exc: BaseException) -> str | None:
        if isinstance(exc, TimeoutError) and run.current == "deliver":
            return "not_delivered"
        if isinstance(exc, httpx.ConnectError):
            return connect_error(exc) or "connect:failed"
        if isinstance(exc, httpx.TimeoutException):
            return f"timeout:{run.current}"
        return None

    async def body() -> ProbeResult:
        run.phase("submit")
        waiting = DELIVERIES.expect(nonce, await report_sources(target))
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                await _submit(client, target, text, nonce)
            run.phase("deliver")
            outcome = await waiting
        finally:
            DELIVERIES.forget(nonce)
        run.detail["nonce"] = nonce
        if outcome == REJECTED:
            raise ProbeFailure("rejected:content", rejected=True)
        if outcome != DELIVERED:
            raise ProbeFailure("not_delivered", report=outcome)
        return run.ok()

    return await guarded(run, body, timeout, translate)


PROBER = Prober("sms", SmsTarget, probe, from_module=None)  # stored targets only
