"""ICMP echo over one shared socket (privileged raw when root, unprivileged
datagram otherwise); replies are matched to waiting probes by identifier,
sequence number and address: an echo reply must come from the probed address,
an error must quote a request to it.

icmplib builds and sends the packets; replies are read by one reader on the
event loop, so ten thousand hosts cost one socket, not ten thousand."""
from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct
from typing import Annotated

from icmplib import ICMPRequest, ICMPv4Socket
from icmplib.exceptions import ICMPSocketError
from pydantic import Field, field_validator

from probes import series
from probes.net import IpChoice, resolve
from probes.options import IpSection, refused
from probes.registry import Prober, UrlForm, host_port
from probes.result import ProbeFailure, ProbeResult, Run, guarded

ECHO_REPLY, UNREACHABLE, TIME_EXCEEDED = 0, 3, 11
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)  # Linux's values (blackbox's DF works there only)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)


UNBOUND = "one socket, bound to no address, is shared by every ping"


class IcmpTarget(IpChoice):
    source_ip: Annotated[str | None, refused(UNBOUND)] = None
    host: str
    count: int = 1
    ttl: int = Field(64, ge=1, le=255)
    payload_size: int = Field(56, ge=0, le=65000)
    dont_fragment: bool = False


class _Pinger:
    """The shared socket and the futures waiting for replies, by sequence."""

    def __init__(self) -> None:
        self.privileged = os.geteuid() == 0
        self.sock = ICMPv4Socket(privileged=self.privileged)
        self.sock.blocking = False
        self.ident = os.getpid() & 0xFFFF
        self.seq = itertools.count(1)
        self.waiting: dict[int, tuple[str, asyncio.Future]] = {}  # seq → (address, reply)
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.sock.sock.fileno(), self._readable)

    def _readable(self) -> None:
        while True:
            try:
                packet, source = self.sock.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            parsed = self._parse(packet)
            if parsed is not None:
                kind, seq, about = parsed
                hops = packet[8] if self.privileged and packet else None  # the reply's IPv4 TTL
                waiting = self.waiting.get(seq)
                if waiting is None:
                    continue
                address, fut = waiting
                # an echo reply comes from the address pinged; an error quotes a request sent to it
                if (about or source[0]) != address or fut.done():
                    continue
                del self.waiting[seq]
                fut.set_result((kind, hops))

    def _parse(self, packet: bytes):
        if self.privileged:  # raw sockets see the IP header
            packet = packet[(packet[0] & 0x0F) * 4:]
        if len(packet) < 8:
            return None
        kind = packet[0]
        if kind == ECHO_REPLY:
            ident, seq = struct.unpack("!HH", packet[4:8])
            return (kind, seq, None) if (ident == self.ident or not self.privileged) else None
        if kind in (UNREACHABLE, TIME_EXCEEDED) and len(packet) >= 36:
            header = packet[8:]
            to = socket.inet_ntoa(header[16:20])  # the quoted request's destination
            inner = header[(header[0] & 0x0F) * 4:]
            ident, seq = struct.unpack("!HH", inner[4:8])
            return (kind, seq, to) if (ident == self.ident or not self.privileged) else None
        return None  # our own echo requests (raw sockets on loopback), others' traffic

    def _send(self, request: ICMPRequest, dont_fragment: bool) -> None:
        """One echo request; with ``dont_fragment`` the IPv4 DF bit set for this send only
        (the socket is shared: its setting is put back at once, before any other send).
        The system's own error (``EMSGSIZE``: too big for the path without fragments) is
        raised as itself, not as icmplib's wrapper."""
        raw = self.sock.sock
        before = raw.getsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER) if dont_fragment else None
        try:
            if dont_fragment:
                raw.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
            self.sock.send(request)
        except ICMPSocketError as exc:
            if isinstance(exc.__context__, OSError):
                raise exc.__context__ from None
            raise
        finally:
            if before is not None:
                raw.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, before)

    async def ping(self, address: str, timeout: float, ttl: int = 64, payload_size: int = 56,
                   dont_fragment: bool = False):
        """(reply kind, its hop limit or None)."""
        seq = next(self.seq) & 0xFFFF
        fut = self.loop.create_future()
        self.waiting[seq] = (address, fut)
        try:
            self._send(ICMPRequest(address, self.ident, seq, payload_size=payload_size, ttl=ttl), dont_fragment)
            async with asyncio.timeout(timeout):
                return await fut
        finally:
            self.waiting.pop(seq, None)


_PINGERS: dict[asyncio.AbstractEventLoop, _Pinger] = {}


def pinger() -> _Pinger:
    loop = asyncio.get_running_loop()
    p = _PINGERS.get(loop)
    if p is None:
        p = _PINGERS[loop] = _Pinger()
    return p


async def probe(target: IcmpTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        address = await resolve(run, target.host, 0, target)
        if ":" in address:
            raise ProbeFailure("icmp:ip6")  # (one IPv4 socket is shared by every ping)
        run.phase("setup")
        p = pinger()
        run.phase("rtt")
        for _ in range(target.count):
            kind, hops = await p.ping(address, timeout, target.ttl, target.payload_size, target.dont_fragment)
            if hops is not None:
                run.detail["_hop_limit"] = hops
            if kind == UNREACHABLE:
                raise ProbeFailure("unreachable")
            if kind == TIME_EXCEEDED:
                raise ProbeFailure("ttl_exceeded")
        return run.ok(address=address)

    return await guarded(run, body, timeout)


def _from_url(f: UrlForm) -> dict:
    return {"host": f.host}


# ---- blackbox_exporter's icmp module (CONFIGURATION.md <icmp_probe>) ----

class IcmpModule(IpSection):
    source_ip_address: Annotated[str | None, refused(UNBOUND)] = None
    payload_size: int = Field(56, ge=0, le=65000)
    dont_fragment: bool = False
    ttl: int = 64

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, v: int) -> int:  # blackbox's checks, in its words
        if v < 0:
            raise ValueError('"ttl" cannot be negative')
        if v > 255:
            raise ValueError('"ttl" cannot exceed 255')
        return v


def _from_module(m: IcmpModule, target: str) -> dict:
    # a port means nothing to a ping; blackbox's ttl 0 is the system's default
    return {"host": host_port(target)[0], "ttl": m.ttl or 64, "payload_size": m.payload_size,
            "dont_fragment": m.dont_fragment, **m.ip()}


ICMP_PHASES = ("resolve", "setup", "rtt")


def _series(result: ProbeResult) -> list[series.Series]:
    out = [series.Series("probe_icmp_duration_seconds", "Duration of icmp request by phase",
                         result.phases.get(p, 0.0), {"phase": p}) for p in ICMP_PHASES]
    if result.detail.get("_hop_limit") is not None:
        out.append(series.Series("probe_icmp_reply_hop_limit", "Replied packet hop limit (TTL for ipv4)",
                                 result.detail["_hop_limit"]))
    return out + series.address(result)


PROBER = Prober("icmp", IcmpTarget, probe, ("icmp",), _from_url, _from_module, IcmpModule, _series)
