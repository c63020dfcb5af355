"""HTTP(S): method, expected status codes, body regex, redirects, TLS verify and
certificate expiry.

The client is a small HTTP/1.1 exchange over asyncio streams, one fresh
connection per probe (a probe measures connect time, as blackbox_exporter's
does). Chosen by measurement on this kind of machine, in CPU per probe with
fresh connections: raw asyncio streams ≈ 0.2–0.3 ms, aiohttp ≈ 0.4–0.55 ms,
httpx ≈ 1.1–1.4 ms, and httpx with one pool across 1,000 hosts ≈ 34 ms at full
CPU — its pool scales badly with many hosts. httpx stays the client for
webhooks and gateway APIs, where a pool is what you want."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from pydantic import Field

from probes.net import TargetModel, TlsOptions, close, connect, readline
from probes.registry import Prober, UrlForm
from probes.result import ProbeFailure, ProbeResult, Run, guarded

# Bounds against hostile servers (each line is bounded by probes.net.LINE_LIMIT):
# the body read is at most BODY_LIMIT; beyond it a body regex cannot be judged
# (too_large:body), without one the rest is not read (the status decides).
BODY_LIMIT = 1024 * 1024
MAX_HEADERS = 100
USER_AGENT = b"slawatch-probe/1"


class HttpTarget(TargetModel):
    url: str = Field(pattern=r"^https?://")
    method: str = "GET"
    valid_status: list[int] = []  # empty: any 2xx
    body_regex: str | None = None
    body_not_regex: str | None = None
    follow_redirects: bool = True
    max_redirects: int = Field(5, ge=0, le=20)
    headers: dict[str, str] = {}
    tls: TlsOptions = TlsOptions()


# complexity 18, kept: one HTTP exchange timed phase by phase (resolve, connect, tls, request, body), in order
async def _exchange(run: Run, target: HttpTarget, url: str):
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    reader, writer = await connect(run, host, port, target.tls if https else None)
    try:
        run.phase("processing")
        hostport = host if parts.port is None else f"{host}:{parts.port}"
        # a Host header of the target's own (blackbox's `hostname`, a virtual host) replaces the URL's
        given = {k.lower(): v for k, v in target.headers.items()}
        head = [f"{target.method} {path} HTTP/1.1", f"Host: {given.get('host', hostport)}", "Connection: close",
                "Accept: */*"]
        head += [f"{k}: {v}" for k, v in target.headers.items() if k.lower() != "host"]
        writer.write(("\r\n".join(head) + "\r\nUser-Agent: ").encode() + USER_AGENT + b"\r\n\r\n")
        status_line = await readline(reader)
        m = re.match(rb"HTTP/(\d\.\d) (\d{3})", status_line)
        if not m:
            raise ProbeFailure("http:bad_response", received=status_line[:100].decode(errors="replace"))
        status = int(m.group(2))
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = await readline(reader)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        else:
            raise ProbeFailure("too_many_headers")
        run.phase("transfer")
        body = b"" if target.method == "HEAD" or status in (204, 304) else await _read_body(reader, headers)
        if len(body) > BODY_LIMIT and (target.body_regex or target.body_not_regex):
            raise ProbeFailure("too_large:body")
        return status, headers, body, parts
    finally:
        close(writer)


async def _read_body(reader, headers: dict[str, str]) -> bytes:
    """At most ``BODY_LIMIT`` + 1 bytes: one more than allowed tells "too large"."""
    cap = BODY_LIMIT + 1
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = bytearray()
        while len(out) < cap:
            try:
                size = int((await readline(reader)).split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise ProbeFailure("http:bad_chunk") from None
            if size == 0:
                return bytes(out)
            take = min(size, cap - len(out))  # a chunk declared as 2**60 bytes is not waited for
            out += await reader.readexactly(take)
            if take == size:
                await reader.readexactly(2)
        return bytes(out)
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise ProbeFailure("http:bad_content_length") from None
        return await reader.readexactly(min(max(length, 0), cap))
    out = bytearray()
    while len(out) < cap and (chunk := await reader.read(cap - len(out))):
        out += chunk
    return bytes(out)


async def probe(target: HttpTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        url = target.url
        for hop in range(target.max_redirects + 1):
            status, headers, content, parts = await _exchange(run, target, url)
            if target.follow_redirects and status in (301, 302, 303, 307, 308) and "location" in headers:
                url = urljoin(url, headers["location"])
                run.detail["redirects"] = hop + 1
                continue
            break
        else:
            raise ProbeFailure("http:too_many_redirects")
        run.detail.update(status=status, url=url)
        ok_status = status in target.valid_status if target.valid_status else 200 <= status < 300
        if not ok_status:
            raise ProbeFailure(f"bad_status:{status}")
        if target.body_regex and not re.search(target.body_regex.encode(), content):
            raise ProbeFailure("body:no_match")
        if target.body_not_regex and re.search(target.body_not_regex.encode(), content):
            raise ProbeFailure("body:forbidden_match")
        return run.ok()

    return await guarded(run, body, timeout)


def _from_url(f: UrlForm) -> dict:
    return {"url": f.url, "tls": f.tls}


def _from_module(options: dict, target: str) -> dict:
    return {**options, "url": target if "://" in target else f"http://{target}"}


PROBER = Prober("http", HttpTarget, probe, ("http", "https"), _from_url, _from_module)
