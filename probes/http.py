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

import gzip
import re
import zlib
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

import brotli
from pydantic import Field

from probes import cel, series
from probes.http_module import HttpModule, from_module
from probes.http_proxy import Proxy, open_via
from probes.net import (
    HeaderName,
    HeaderValue,
    IpChoice,
    SecretHeader,
    TargetModel,
    TlsOptions,
    close,
    connect,
    readline,
)
from probes.oauth2 import OAuth2, bearer
from probes.registry import Prober, UrlForm
from probes.result import ProbeFailure, ProbeResult, Run, guarded

# Bounds against hostile servers (each line is bounded by probes.net.LINE_LIMIT):
# the body read is at most BODY_LIMIT; beyond it a body regex cannot be judged
# (too_large:body), without one the rest is not read (the status decides).
BODY_LIMIT = 1024 * 1024
MAX_HEADERS = 100
USER_AGENT = b"slawatch-probe/1"


class HeaderMatch(TargetModel):
    header: str = Field(min_length=1)
    regexp: str = Field(min_length=1)
    allow_missing: bool = False


class HttpTarget(IpChoice):
    url: str = Field(pattern=r"^https?://")
    method: str = Field("GET", pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$")  # a token: no space, no line break
    valid_status: list[int] = []  # empty: any 2xx
    valid_http_versions: list[str] = []  # "HTTP/1.1" …; empty: any
    body_regex: str | None = None
    body_not_regex: str | None = None
    fail_if_body_not_matches: list[str] = []  # each must match
    fail_if_body_matches: list[str] = []  # none may match
    fail_if_header_matches: list[HeaderMatch] = []
    fail_if_header_not_matches: list[HeaderMatch] = []
    fail_if_ssl: bool = False
    fail_if_not_ssl: bool = False
    fail_if_body_json_matches_cel: str | None = None  # a CEL expression over the JSON body (``body``)
    fail_if_body_json_not_matches_cel: str | None = None
    follow_redirects: bool = True
    max_redirects: int = Field(5, ge=0, le=20)
    headers: dict[HeaderName, HeaderValue] = {}
    authorization: HeaderValue | None = None  # the Authorization header's value: a secret (sealed, never shown)
    secret_headers: list[SecretHeader] = []
    body: str | None = None  # the request's body
    compression: Literal["", "gzip", "deflate", "br", "identity"] = ""
    body_size_limit: int = Field(0, ge=0)  # 0: BODY_LIMIT
    tls: TlsOptions = TlsOptions()
    proxy: Proxy | None = None
    oauth2: OAuth2 | None = None


# complexity 18, kept: one HTTP exchange timed phase by phase (resolve, connect, tls, request, body), in order
async def _exchange(run: Run, target: HttpTarget, url: str, timeout: float):
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = target.proxy if target.proxy is not None and not target.proxy.bypassed(host, port) else None
    if proxy is not None:
        reader, writer, origin = await open_via(run, proxy, host, port, target.tls if https else None, target)
    else:
        reader, writer = await connect(run, host, port, target.tls if https else None, target)
        origin = ""
    try:
        authorization = target.authorization
        if target.oauth2 is not None and authorization is None:  # (kept between probes: bought once an hour)
            run.phase("oauth2")
            authorization = "Bearer " + await bearer(target.oauth2, timeout)
        run.phase("processing")
        hostport = host if parts.port is None else f"{host}:{parts.port}"
        # a Host header of the target's own (blackbox's `hostname`, a virtual host) replaces the URL's
        given = {k.lower(): v for k, v in target.headers.items()}
        head = [f"{target.method} {origin}{path} HTTP/1.1", f"Host: {given.get('host', hostport)}",
                "Connection: close"]
        if origin:  # plain HTTP through the proxy: its credentials go with each request
            head += proxy.auth()
        head += [f"{k}: {v}" for k, v in target.headers.items() if k.lower() != "host"]
        if authorization and "authorization" not in given:
            head.append(f"Authorization: {authorization}")
        head += [f"{h.name}: {h.secret}" for h in target.secret_headers]
        if "accept" not in given:
            head.append("Accept: */*")
        if target.compression and "accept-encoding" not in given:  # blackbox asks for what it will decode
            head.append(f"Accept-Encoding: {target.compression}")
        payload = (target.body or "").encode()
        if target.body is not None:
            head.append(f"Content-Length: {len(payload)}")
        if "user-agent" not in given:
            head.append("User-Agent: " + USER_AGENT.decode())
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await readline(reader)
        m = re.match(rb"HTTP/(\d(?:\.\d)?) (\d{3})", status_line)
        if not m:
            raise ProbeFailure("http:bad_response", received=status_line[:100].decode(errors="replace"))
        status = int(m.group(2))
        run.detail["_version"] = m.group(1).decode()
        headers: dict[str, list[str]] = {}
        for _ in range(MAX_HEADERS + 1):
            line = await readline(reader)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        else:
            raise ProbeFailure("too_many_headers")
        run.phase("transfer")
        limit = target.body_size_limit or BODY_LIMIT
        body = b"" if target.method == "HEAD" or status in (204, 304) else await _read_body(reader, headers, limit)
        if len(body) > limit and (target.body_size_limit or _judges_body(target)):
            raise ProbeFailure("too_large:body")
        return status, headers, body, parts
    finally:
        close(writer)


def _judges_body(t: HttpTarget) -> bool:
    return bool(t.body_regex or t.body_not_regex or t.fail_if_body_matches or t.fail_if_body_not_matches
                or t.fail_if_body_json_matches_cel or t.fail_if_body_json_not_matches_cel)


def _one(headers: dict[str, list[str]], name: str) -> str:
    return headers.get(name, [""])[-1]


async def _read_body(reader, headers: dict[str, list[str]], limit: int) -> bytes:
    """At most ``limit`` + 1 bytes: one more than allowed tells "too large"."""
    cap = limit + 1
    if _one(headers, "transfer-encoding").lower() == "chunked":
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
            length = int(_one(headers, "content-length"))
        except ValueError:
            raise ProbeFailure("http:bad_content_length") from None
        return await reader.readexactly(min(max(length, 0), cap))
    out = bytearray()
    while len(out) < cap and (chunk := await reader.read(cap - len(out))):
        out += chunk
    return bytes(out)


DECODERS = {"gzip": gzip.decompress, "deflate": zlib.decompress, "br": brotli.decompress}


def _decoded(target: HttpTarget, headers: dict[str, list[str]], body: bytes) -> bytes:
    """The body as blackbox reads it: decoded with ``compression`` (bounded: a small
    body that inflates past the limit is too large, not a memory bomb)."""
    decode = DECODERS.get(target.compression)
    if decode is None or not body:
        return body
    try:
        if target.compression == "gzip":
            out = zlib.decompressobj(wbits=47).decompress(body, (target.body_size_limit or BODY_LIMIT) + 1)
        else:
            out = decode(body)
    except (OSError, zlib.error, brotli.error):
        raise ProbeFailure("http:bad_encoding", encoding=_one(headers, "content-encoding")) from None
    if len(out) > (target.body_size_limit or BODY_LIMIT):
        raise ProbeFailure("too_large:body")
    return out


def _check_headers(target: HttpTarget, headers: dict[str, list[str]]) -> None:
    for spec in target.fail_if_header_matches:  # fails if any value matches
        if any(re.search(spec.regexp, v) for v in headers.get(spec.header.lower(), [])):
            raise ProbeFailure("regex:header_matches", header=spec.header)
    for spec in target.fail_if_header_not_matches:  # fails if none does (or it is missing)
        values = headers.get(spec.header.lower())
        if values is None:
            if spec.allow_missing:
                continue
            raise ProbeFailure("regex:header_missing", header=spec.header)
        if not any(re.search(spec.regexp, v) for v in values):
            raise ProbeFailure("regex:header_not_matches", header=spec.header)


def _check_body(target: HttpTarget, content: bytes) -> None:
    if target.body_regex and not re.search(target.body_regex.encode(), content):
        raise ProbeFailure("body:no_match")
    if target.body_not_regex and re.search(target.body_not_regex.encode(), content):
        raise ProbeFailure("body:forbidden_match")
    if any(re.search(r.encode(), content) for r in target.fail_if_body_matches):
        raise ProbeFailure("regex:body_matches")
    if any(not re.search(r.encode(), content) for r in target.fail_if_body_not_matches):
        raise ProbeFailure("regex:body_not_matches")
    for expression, fails_when in ((target.fail_if_body_json_matches_cel, True),
                                   (target.fail_if_body_json_not_matches_cel, False)):
        if expression is not None:
            matched = cel.matches(expression, content)
            if matched is None or matched is fails_when:
                raise ProbeFailure("cel:" + ("not_json_or_bool" if matched is None else
                                             "matches" if fails_when else "not_matches"))


async def probe(target: HttpTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        url = target.url
        if target.fail_if_body_json_matches_cel or target.fail_if_body_json_not_matches_cel:
            run.detail["_cel"] = True
        for hop in range(target.max_redirects + 1):
            status, headers, content, parts = await _exchange(run, target, url, timeout)
            if status in (301, 302, 303, 307, 308) and "location" in headers:
                run.detail["redirects"] = hop + 1  # counted even when not followed, as blackbox counts
                if target.follow_redirects:
                    url = urljoin(url, _one(headers, "location"))
                    continue
            break
        else:
            raise ProbeFailure("http:too_many_redirects")
        run.detail.update(status=status, url=url)
        run.detail["_content_length"] = _length(headers)
        if "last-modified" in headers:
            run.detail["_last_modified"] = _timestamp(_one(headers, "last-modified"))
        content = _decoded(target, headers, content)
        run.detail["_body_length"] = len(content)
        ok_status = status in target.valid_status if target.valid_status else 200 <= status < 300
        if not ok_status:
            raise ProbeFailure(f"bad_status:{status}")
        _check_headers(target, headers)
        _check_body(target, content)
        if target.valid_http_versions and f"HTTP/{run.detail['_version']}" not in target.valid_http_versions:
            raise ProbeFailure("http:version", version=run.detail["_version"])
        https = url.startswith("https://")
        if target.fail_if_ssl and https:
            raise ProbeFailure("http:ssl")
        if target.fail_if_not_ssl and not https:
            raise ProbeFailure("http:not_ssl")
        return run.ok()

    return await guarded(run, body, timeout)


def _length(headers: dict[str, list[str]]) -> int:
    """Go's ``ContentLength``: the header's, -1 when unknown (chunked, or none)."""
    if "transfer-encoding" in headers or "content-length" not in headers:
        return -1
    try:
        return int(_one(headers, "content-length"))
    except ValueError:
        return -1


def _timestamp(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _from_url(f: UrlForm) -> dict:
    return {"url": f.url, "tls": f.tls}


HTTP_PHASES = ("resolve", "connect", "tls", "processing", "transfer")  # blackbox's, every one always present
REGEX_FAILURES = ("regex:", "body:")


def _series(result: ProbeResult) -> list[series.Series]:
    d, S = result.detail, series.Series
    # a phase the probe timed out in never completed: blackbox's trace has no time for it
    out = [S("probe_http_duration_seconds", "Duration of http request by phase, summed over all redirects",
             0.0 if result.error == f"timeout:{p}" else result.phases.get(p, 0.0), {"phase": p})
           for p in HTTP_PHASES]
    version = d.get("_version")
    out += [S("probe_http_content_length", "Length of http content response", d.get("_content_length", 0)),
            S("probe_http_uncompressed_body_length", "Length of uncompressed response body",
              d.get("_body_length", 0)),
            S("probe_http_redirects", "The number of redirects", d.get("redirects", 0)),
            S("probe_http_ssl", "Indicates if SSL was used for the final redirect",
              int(d.get("url", "").startswith("https://"))),
            S("probe_http_status_code", "Response HTTP status code", d.get("status", 0)),
            S("probe_http_version", "Returns the version of HTTP of the probe response",
              float(version) if version else 0.0),
            S("probe_failed_due_to_regex", "Indicates if probe failed due to regex",
              int((result.error or "").startswith(REGEX_FAILURES)))]
    if result.detail.get("_cel"):  # registered only where the module has an expression, as blackbox's
        out.append(S("probe_failed_due_to_cel", "Indicates if probe failed due to CEL expression not matching",
                     int((result.error or "").startswith("cel:"))))
    if d.get("_last_modified") is not None:
        out.append(S("probe_http_last_modified_timestamp_seconds",
                     "Returns the Last-Modified HTTP response header in unixtime", d["_last_modified"]))
    return out + series.address(result) + series.tls(result)


PROBER = Prober("http", HttpTarget, probe, ("http", "https"), _from_url, from_module, HttpModule, _series)
