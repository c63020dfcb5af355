"""Where SMS delivery reports and inbound copies meet the probes waiting for
them: a registry of futures by nonce, and a small loopback HTTP receiver for
when slawatch's API is not the one receiving (``slawatch probe`` at a terminal).
The service's webhook route feeds the same registry."""
from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlsplit

NONCE = re.compile(r"\bslw-([0-9a-f]{32})\b")
DELIVERED, FAILED, REJECTED = "delivered", "failed", "rejected"
# Kannel DLR types (%d): 1 delivered, 2 failed, 4 buffered, 8 SMSC submit, 16 SMSC reject
KANNEL_DLR = {"1": DELIVERED, "2": FAILED, "16": REJECTED}


class Deliveries:
    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future] = {}

    def expect(self, nonce: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[nonce] = fut
        return fut

    def forget(self, nonce: str) -> None:
        self.waiting.pop(nonce, None)

    def report(self, nonce: str, outcome: str) -> bool:
        """A delivery report or an inbound copy for ``nonce``; True if a probe waited for it."""
        fut = self.waiting.get(nonce)
        if fut is None or fut.done():
            return False
        fut.set_result(outcome)
        return True

    def report_params(self, params: dict[str, str]) -> bool:
        """From a webhook's parameters: ``nonce`` + Kannel ``type``, or an inbound
        message whose text carries the nonce."""
        nonce = params.get("nonce")
        if nonce:
            outcome = KANNEL_DLR.get(params.get("type", "1"))
            return outcome is not None and self.report(nonce, outcome)
        m = NONCE.search(params.get("text", ""))
        return bool(m) and self.report(m.group(1), DELIVERED)


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
        DELIVERIES.report_params(params)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
        pass
    finally:
        writer.close()


async def start_receiver(host: str = "127.0.0.1", port: int = 0) -> asyncio.AbstractServer:
    """A loopback receiver for delivery reports; its URL is ``http://host:port/``."""
    return await asyncio.start_server(_handle, host, port)
