"""DNS: ask one server for a record type (A, AAAA, MX of a mail domain, …) and
check the answers."""
from __future__ import annotations

from typing import Literal

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
from pydantic import field_validator

from probes.net import Port, TargetModel
from probes.registry import Prober, UrlForm, host_port
from probes.result import ProbeFailure, ProbeResult, Run, guarded


class DnsTarget(TargetModel):
    server: str  # the resolver or authoritative server to ask (an address)
    port: Port = 53
    name: str
    type: str = "A"
    transport: Literal["udp", "tcp"] = "udp"
    expect: list[str] | None = None  # every one must be among the answers (MX as "10 mx.example.com.")

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        try:
            dns.rdatatype.from_text(v.upper())
        except dns.rdatatype.UnknownRdatatype:
            raise ValueError(f"unknown record type {v!r}") from None
        return v.upper()


async def probe(target: DnsTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        run.phase("query")
        q = dns.message.make_query(target.name, target.type)
        ask = dns.asyncquery.udp if target.transport == "udp" else dns.asyncquery.tcp
        reply = await ask(q, target.server, port=target.port, timeout=timeout)
        rcode = dns.rcode.to_text(reply.rcode()).lower()
        if rcode != "noerror":
            raise ProbeFailure(f"dns:{rcode}")
        rtype = dns.rdatatype.from_text(target.type)
        answers = sorted(r.to_text() for rrset in reply.answer if rrset.rdtype == rtype for r in rrset)
        run.detail["answers"] = answers
        if not answers:
            raise ProbeFailure("dns:no_answer")
        missing = [e for e in (target.expect or []) if e not in answers]
        if missing:
            raise ProbeFailure("dns:unexpected_answer", missing=missing)
        return run.ok()

    return await guarded(run, body, timeout, dns_error)


def dns_error(exc: BaseException) -> str | None:
    """A reply that does not parse (a hostile or broken server): one stable code."""
    if isinstance(exc, (dns.exception.FormError, dns.message.ShortHeader, dns.message.TrailingJunk)):
        return "dns:malformed"
    return None


def _from_url(f: UrlForm) -> dict:
    return {"server": f.host, "port": f.port or 53, "name": f.path.lstrip("/") or f.host,
            "type": f.query.get("type", "A"), "transport": f.query.get("transport", "udp")}


def _from_module(options: dict, target: str) -> dict:
    server, port = host_port(target)
    return {**options, "server": server, **({"port": port} if port else {})}


PROBER = Prober("dns", DnsTarget, probe, ("dns",), _from_url, _from_module)
