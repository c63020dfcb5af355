"""Where SMS delivery reports and inbound copies meet the probes waiting for
them: a registry of futures by nonce, and a small loopback HTTP receiver for
when slawatch's API is not the one receiving (``slawatch probe`` at a terminal).
The service's webhook route feeds the same registry."""
from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

NONCE = re.compile(r"\bslw-([0-9a-f]{32})\b")
DELIVERED, FAILED, REJECTED = "delivered", "failed", "rejected"
# Kannel DLR types (%d): 1 delivered, 2 failed, 4 buffered, 8 SMSC submit, 16 SMSC reject
KANNEL_DLR = {"1": DELIVERED, "2": FAILED, "16": REJECTED}


Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(address: str | None):
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    except ValueError:
        return None
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


class Deliveries:
    """Futures by nonce, each with the networks its report may come from: the
    gateway's. A report from anywhere else completes nothing, even with the nonce."""

    def __init__(self) -> None:
        self.waiting: dict[str, tuple[asyncio.Future, tuple[Net, ...]]] = {}

    def expect(self, nonce: str, sources: Iterable[str]) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[nonce] = (fut, tuple(ipaddress.ip_network(s, strict=False) for s in sources))
        return fut

    def forget(self, nonce: str) -> None:
        self.waiting.pop(nonce, None)

    def report(self, nonce: str, outcome: str, source: str | None) -> bool:
        """A delivery report or an inbound copy for ``nonce`` from ``source``; True
        if a probe waited for it and the report came from its gateway."""
        entry = self.waiting.get(nonce)
        ip = _ip(source)
        if entry is None or entry[0].done() or ip is None or not any(ip in n for n in entry[1]):
            return False
        entry[0].set_result(outcome)
        return True

    def report_params(self, params: dict[str, str], source: str | None) -> bool:
        """From a webhook's parameters: ``nonce`` + Kannel ``type``, or an inbound
        message whose text carries the nonce."""
        nonce = params.get("nonce")
        if nonce:
            outcome = KANNEL_DLR.get(params.get("type", "1"))
            return outcome is not None and self.report(nonce, outcome, source)
        m = NONCE.search(params.get("text", ""))
        return bool(m) and self.report(m.group(1), DELIVERED, source)


DELIVERIES = Deliveries()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        line, *headers = request.decode("latin-1").split("\r\n")
        _, target, _ = line.split(" ", 2)
        params = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        length = next((int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")), 0)
        if length:
            body = await asyncio.wait_for(reader.readexactly(min(length, 65536)), 5)
            params.update({k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()})
        peer = writer.get_extra_info("peername")
        DELIVERIES.report_params(params, peer[0] if peer else None)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
        pass
    finally:
        writer.close()


async def start_receiver(host: str = "127.0.0.1", port: int = 0) -> asyncio.AbstractServer:
    """A loopback receiver for delivery reports; its URL is ``http://host:port/``."""
    return await asyncio.start_server(_handle, host, port)
