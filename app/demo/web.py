"""The demo's web site (HTTPS, the colocated server and the SaaS) and its SMS
gateway (Kannel's ``/cgi-bin/sendsms``: accepts, then reports delivery to the
``dlr-url`` as a carrier would). ``break server`` makes the site answer 503;
``break sms`` makes the gateway accept messages that never arrive."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from app.demo.certs import server_context
from app.demo.state import Demo
from app.logs import redact

log = logging.getLogger("slawatch.demo")
REASONS = {200: "OK", 202: "Accepted", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable"}
DELIVERY_DELAY = 0.3  # seconds from submit to the delivery report
MAX_BODY = 64 * 1024
DEMO_ROBOT_SECRET = "SECslawatch-demo"  # the demo DingTalk robot's 加签 secret (a demo's, not a secret)
Handler = Callable[[str, dict[str, str]], Awaitable[tuple[int, str]]]


def http_server(handler: Handler):
    """One request per connection (``Connection: close``): enough for probes and gateways."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            target = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1]
            parts = urlsplit(target)
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            if 0 < length <= MAX_BODY:  # a robot's message (the demo DingTalk)
                params["_body"] = (await asyncio.wait_for(reader.readexactly(length), 10)).decode(errors="replace")
            status, body = await handler(parts.path, params)
            data = body.encode()
            kind = "application/json" if body.startswith("{") else "text/html; charset=utf-8"
            writer.write(f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\nContent-Type: {kind}\r\n"
                         f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError, ValueError,
                ConnectionError):
            pass
        finally:
            writer.close()
    return serve


def site(demo: Demo) -> Handler:
    async def handle(path: str, params: dict) -> tuple[int, str]:
        if demo.is_broken("server"):
            return 503, "<h1>503</h1><p>server down (slawatch demo break server)</p>"
        if path in ("/", "/crm"):
            return 200, f"<h1>slawatch demo {path.strip('/') or 'server'}</h1><p>all well</p>"
        return 404, "not found"
    return handle


def gateway(demo: Demo, client: httpx.AsyncClient, pending: set) -> Handler:
    async def report(url: str) -> None:
        await asyncio.sleep(DELIVERY_DELAY)
        try:
            await client.get(url.replace("%d", "1"))  # Kannel DLR type 1: delivered to the phone
        except httpx.HTTPError as exc:
            log.warning("demo SMS gateway: delivery report to %s failed: %s", redact(url), exc)

    async def handle(path: str, params: dict) -> tuple[int, str]:
        if path == "/robot/send":
            return robot(params)
        if path != "/cgi-bin/sendsms":
            return 404, "not found"
        if (params.get("username"), params.get("password")) != ("demo", "demo"):
            return 403, "Authorization failed for sendsms"
        if not params.get("to") or not params.get("text"):
            return 202, "Missing receiver or text"  # Kannel's own wording and status
        if params.get("dlr-url") and not demo.is_broken("sms"):
            task = asyncio.create_task(report(params["dlr-url"]))
            pending.add(task)
            task.add_done_callback(pending.discard)
        return 202, "0: Accepted for delivery"
    return handle


def robot(params: dict) -> tuple[int, str]:
    """A DingTalk custom robot for the demo: checks the signature as DingTalk does and
    writes the message to the log, so the walk shows what the NOC's group would get."""
    ts = params.get("timestamp", "0")
    mac = hmac.new(DEMO_ROBOT_SECRET.encode(), f"{ts}\n{DEMO_ROBOT_SECRET}".encode(), hashlib.sha256).digest()
    if params.get("sign") != base64.b64encode(mac).decode():
        return 200, json.dumps({"errcode": 310000, "errmsg": "sign not match"})
    try:
        msg = json.loads(params.get("_body", ""))["markdown"]
    except (ValueError, KeyError, TypeError):
        return 200, json.dumps({"errcode": 40035, "errmsg": "missing markdown"})
    log.warning("DingTalk (demo robot): %s\n%s", msg.get("title"), msg.get("text"))
    return 200, json.dumps({"errcode": 0, "errmsg": "ok"})


async def serve_web(demo: Demo) -> tuple[list[asyncio.AbstractServer], Callable[[], Awaitable[None]]]:
    client, pending = httpx.AsyncClient(timeout=5), set()
    servers = [await asyncio.start_server(http_server(site(demo)), demo.host, demo.port("https"),
                                          ssl=server_context(demo.dir)),
               await asyncio.start_server(http_server(gateway(demo, client, pending)), demo.host, demo.port("sms"))]

    async def close() -> None:
        for t in list(pending):
            t.cancel()
        await client.aclose()
    return servers, close
