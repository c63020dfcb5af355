"""DNS: ask one server for a record type (A, AAAA, MX of a mail domain, …) and
check the reply: its rcode, the answers slawatch expects, and blackbox_exporter's
regex checks over each section's records (``validate_answer_rrs`` …)."""
from __future__ import annotations

import re
import socket
import time
from typing import Literal

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from pydantic import field_validator, model_validator

from probes import series
from probes.net import IpChoice, Port, TargetModel, TlsOptions, local, resolve, tls_context
from probes.options import IpSection, Regex, Section, TlsConfig
from probes.registry import Prober, UrlForm, host_port
from probes.result import ProbeFailure, ProbeResult, Run, guarded


class RRChecks(TargetModel):
    """blackbox's DNSRRValidator, applied to each record's text (``name\\tttl\\tclass\\ttype\\tdata``)."""
    fail_if_matches_regexp: list[str] = []
    fail_if_all_match_regexp: list[str] = []
    fail_if_not_matches_regexp: list[str] = []
    fail_if_none_matches_regexp: list[str] = []

    def passes(self, records: list[str]) -> bool:
        if not records and (self.fail_if_not_matches_regexp or self.fail_if_none_matches_regexp):
            return False
        if any(re.search(r, rr) for r in self.fail_if_matches_regexp for rr in records):
            return False
        if self.fail_if_all_match_regexp and records and all(
                re.search(r, rr) for r in self.fail_if_all_match_regexp for rr in records):
            return False
        if any(not re.search(r, rr) for r in self.fail_if_not_matches_regexp for rr in records):
            return False
        return not self.fail_if_none_matches_regexp or any(
            re.search(r, rr) for r in self.fail_if_none_matches_regexp for rr in records)


def _rdtype(v: str) -> str:
    try:
        dns.rdatatype.from_text(v.upper())
    except dns.rdatatype.UnknownRdatatype:
        raise ValueError(f"unknown record type {v!r}") from None
    return v.upper()


class DnsTarget(IpChoice):
    server: str  # the resolver or authoritative server to ask (an address)
    port: Port = 53
    name: str
    type: str = "A"
    qclass: str = "IN"
    transport: Literal["udp", "tcp"] = "udp"
    dns_over_tls: bool = False
    tls: TlsOptions = TlsOptions()
    recursion_desired: bool = True
    expect: list[str] | None = None  # every one must be among the answers (MX as "10 mx.example.com.")
    require_answer: bool = True  # slawatch's: an empty answer fails (blackbox's modules: it does not)
    valid_rcodes: list[str] = []  # empty: NOERROR
    validate_answer_rrs: RRChecks = RRChecks()
    validate_authority_rrs: RRChecks = RRChecks()
    validate_additional_rrs: RRChecks = RRChecks()

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return _rdtype(v)


def _text(rrsets) -> list[str]:
    return [f"{r.name}\t{r.ttl}\t{dns.rdataclass.to_text(r.rdclass)}\t{dns.rdatatype.to_text(r.rdtype)}\t"
            f"{rd.to_text()}" for r in rrsets for rd in r]


async def probe(target: DnsTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        address = await resolve(run, target.server, target.port, target)
        run.phase("connect")
        q = dns.message.make_query(target.name, target.type, target.qclass)
        if not target.recursion_desired:
            q.flags &= ~dns.flags.RD
        sent = time.perf_counter()
        if target.dns_over_tls:
            reply = await dns.asyncquery.tls(q, address, port=target.port, timeout=timeout, source=target.source_ip,
                                             ssl_context=tls_context(target.tls),
                                             server_hostname=target.tls.server_name or target.server)
        elif target.transport == "tcp":
            reply = await dns.asyncquery.tcp(q, address, port=target.port, timeout=timeout, source=target.source_ip)
        else:  # a connected socket: a closed port's ICMP error ends the probe at once (as blackbox's does)
            sock = await dns.asyncbackend.get_default_backend().make_socket(
                dns.inet.af_for_address(address), socket.SOCK_DGRAM, 0, local(target), (address, target.port))
            async with sock:
                reply = await dns.asyncquery.udp(q, address, port=target.port, timeout=timeout, sock=sock)
        rtt = min(reply.time, time.perf_counter() - sent)
        run.phase("request")  # as blackbox splits it: the round trip is the request, the rest the connect
        run.phases["connect"] -= rtt
        run.phases["request"] = rtt
        run.detail["_counts"] = (len(reply.answer), len(reply.authority), len(reply.additional))
        run.detail["_serial"] = next((rd.serial for r in reply.answer if r.rdtype == dns.rdatatype.SOA
                                      for rd in r), None)
        rcode = dns.rcode.to_text(reply.rcode())
        if rcode not in (target.valid_rcodes or ["NOERROR"]):
            raise ProbeFailure(f"dns:{rcode.lower()}")
        checks = ((target.validate_answer_rrs, reply.answer), (target.validate_authority_rrs, reply.authority),
                  (target.validate_additional_rrs, reply.additional))
        for name, (check, section) in zip(("answer", "authority", "additional"), checks, strict=True):
            if not check.passes(_text(section)):
                raise ProbeFailure(f"regex:{name}_rrs")
        rtype = dns.rdatatype.from_text(target.type)
        answers = sorted(r.to_text() for rrset in reply.answer if rrset.rdtype == rtype for r in rrset)
        run.detail["answers"] = answers
        if not answers and target.require_answer:
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
    if isinstance(exc, dns.exception.Timeout):
        return "timeout:request"
    return None


def _from_url(f: UrlForm) -> dict:
    return {"server": f.host, "port": f.port or 53, "name": f.path.lstrip("/") or f.host,
            "type": f.query.get("type", "A"), "transport": f.query.get("transport", "udp")}


# ---- blackbox_exporter's dns module (CONFIGURATION.md <dns_probe>) ----

class RRValidator(Section):
    fail_if_matches_regexp: list[Regex] = []
    fail_if_all_match_regexp: list[Regex] = []
    fail_if_not_matches_regexp: list[Regex] = []
    fail_if_none_matches_regexp: list[Regex] = []


class DnsModule(IpSection):
    query_name: str = ""
    query_type: str = "ANY"
    query_class: str = "IN"
    transport_protocol: Literal["udp", "tcp"] = "udp"
    dns_over_tls: bool = False
    tls_config: TlsConfig = TlsConfig()
    recursion_desired: bool = True
    valid_rcodes: list[str] = ["NOERROR"]
    validate_answer_rrs: RRValidator = RRValidator()
    validate_authority_rrs: RRValidator = RRValidator()
    validate_additional_rrs: RRValidator = RRValidator()

    @model_validator(mode="after")
    def _named(self):
        if not self.query_name:
            raise ValueError("query name must be set for DNS module")
        return self

    @field_validator("query_class", "query_type")
    @classmethod
    def _known(cls, v: str, info) -> str:
        check(info.field_name.replace("_", " "), v)
        return v

    @field_validator("valid_rcodes")
    @classmethod
    def _rcodes(cls, v: list[str]) -> list[str]:
        for code in v:
            check("rcode", code)
        return v


PARSERS = {"query class": dns.rdataclass.from_text, "query type": dns.rdatatype.from_text,
           "rcode": dns.rcode.from_text}


def check(what: str, value: str) -> None:
    """A class, type or rcode dnspython knows by that name, or blackbox's words for one it does not."""
    try:
        PARSERS[what](value)
    except (dns.exception.DNSException, ValueError):
        raise ValueError(f"{what} '{value}' is not valid") from None


def _from_module(m: DnsModule, target: str) -> dict:
    server, port = host_port(target)
    return {"server": server, "port": port or (853 if m.dns_over_tls else 53), "name": m.query_name,
            "type": m.query_type, "qclass": m.query_class, "transport": m.transport_protocol,
            "dns_over_tls": m.dns_over_tls, "tls": m.tls_config.options(), "recursion_desired": m.recursion_desired,
            "require_answer": False, "valid_rcodes": m.valid_rcodes,
            "validate_answer_rrs": m.validate_answer_rrs.model_dump(),
            "validate_authority_rrs": m.validate_authority_rrs.model_dump(),
            "validate_additional_rrs": m.validate_additional_rrs.model_dump(), **m.ip()}


DNS_PHASES = ("resolve", "connect", "request")


def _series(result: ProbeResult) -> list[series.Series]:
    S, counts = series.Series, result.detail.get("_counts")
    out = [S("probe_dns_duration_seconds", "Duration of DNS request by phase", result.phases.get(p, 0.0),
             {"phase": p}) for p in DNS_PHASES]
    answer, authority, additional = counts or (0, 0, 0)
    out += [S("probe_dns_answer_rrs", "Returns number of entries in the answer resource record list", answer),
            S("probe_dns_authority_rrs", "Returns number of entries in the authority resource record list",
              authority),
            S("probe_dns_additional_rrs", "Returns number of entries in the additional resource record list",
              additional),
            S("probe_dns_query_succeeded", "Displays whether or not the query was executed successfully",
              int(counts is not None))]
    if result.detail.get("_serial") is not None:
        out.append(S("probe_dns_serial", "Returns the serial number of the zone", result.detail["_serial"]))
    return out + series.address(result)


PROBER = Prober("dns", DnsTarget, probe, ("dns",), _from_url, _from_module, DnsModule, _series)
