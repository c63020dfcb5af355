"""An HTTP probe through a forward proxy, as blackbox_exporter's ``proxy_url`` does:
a plain-HTTP request goes to the proxy with the absolute URL; an HTTPS one opens a
tunnel (``CONNECT host:port``) and does its TLS handshake with the target through it.
``no_proxy`` names what goes direct. The proxy's credentials are secrets: the
password and each CONNECT header's value are stored sealed and never shown."""
from __future__ import annotations

import base64
import ipaddress
from urllib.parse import urlsplit

from pydantic import Field

from probes.net import IpChoice, SecretHeader, TargetModel, TlsOptions, connect, readline, resolve, start_tls
from probes.result import ProbeFailure, Run

MAX_HEADERS = 100


class Proxy(TargetModel):
    url: str = Field(pattern=r"^http://[^/@]+(:\d+)?/?$")  # the proxy itself: http://host:port (no userinfo)
    username: str | None = None
    password: str | None = None  # Proxy-Authorization: Basic (sealed at rest)
    no_proxy: list[str] = []  # hosts, domains (and their subdomains), CIDRs, host:port; "*": everything
    connect_headers: list[SecretHeader] = []  # sent with CONNECT (blackbox's proxy_connect_header)
    resolve_target: bool = True  # blackbox resolves the target itself unless skip_resolve_phase_with_proxy

    def bypassed(self, host: str, port: int) -> bool:
        """Whether ``no_proxy`` sends this target direct (Go's httpproxy rules, simplified)."""
        host = host.lower().rstrip(".")
        for entry in (e.strip().lower() for e in self.no_proxy if e.strip()):
            if entry == "*":
                return True
            name, _, want_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
            if want_port and want_port != str(port):
                continue
            name = name.lstrip(".")
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                    return True
                continue
            except ValueError:
                pass
            if host == name or host.endswith("." + name):
                return True
        return False

    def auth(self) -> list[str]:
        if self.username is None:
            return []
        raw = f"{self.username}:{self.password or ''}".encode()
        return [f"Proxy-Authorization: Basic {base64.b64encode(raw).decode()}"]


async def open_via(run: Run, proxy: Proxy, host: str, port: int, tls: TlsOptions | None, choice: IpChoice):
    """A stream to the target through ``proxy`` and the request target to send on it
    (the absolute URL's scheme and authority for plain HTTP; "" through a tunnel)."""
    where = await resolve(run, host, port, choice) if proxy.resolve_target else host
    authority = f"[{where}]:{port}" if ":" in where else f"{where}:{port}"
    parts = urlsplit(proxy.url)
    reader, writer = await connect(run, parts.hostname or "", parts.port or 80, None, None)
    if tls is None:
        return reader, writer, f"http://{authority}"
    run.phase("processing")
    head = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", *proxy.auth()]
    head += [f"{h.name}: {h.secret}" for h in proxy.connect_headers]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    status = await readline(reader)
    for _ in range(MAX_HEADERS + 1):
        if (await readline(reader)) in (b"\r\n", b"\n", b""):
            break
    else:
        raise ProbeFailure("too_many_headers")
    code = status.split(b" ")[1:2]
    if not code or code[0] != b"200":
        raise ProbeFailure(f"proxy:{code[0].decode(errors='replace')[:3] if code else 'bad_response'}")
    await start_tls(run, writer, host, tls)
    return reader, writer, ""
