"""Connections shared by the stream probes: timed resolve/connect/TLS phases,
TLS contexts built once, certificate expiry read from the peer certificate."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from datetime import datetime, timezone
from functools import lru_cache
from typing import Annotated

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field

from probes import policy
from probes.result import ProbeFailure, Run


class TargetModel(BaseModel):
    """Strict: a misspelt key in a target is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Port = Annotated[int, Field(ge=1, le=65535)]


class TlsOptions(TargetModel):
    verify: bool = True
    ca_file: str | None = None  # a private CA (tests use one made by trustme)
    server_name: str | None = None  # SNI and the name to verify; default the host
    min_days_left: int | None = Field(None, ge=0, le=3650)  # fail with cert_expires_in:Nd below this


@lru_cache(maxsize=64)
def client_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    """Built once per (verify, CA): creating a context costs more than a handshake."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


@lru_cache(maxsize=65536)
def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


async def resolve(run: Run, host: str, port: int) -> str:
    """The address to connect to (timed as ``resolve`` when ``host`` is a name),
    checked against the call's address policy."""
    if is_ip(host):
        policy.check(host)
        return host
    run.phase("resolve")
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise ProbeFailure("resolve:failed")
    addr = infos[0][4][0]
    policy.check(addr, host)
    return addr


async def connected_socket(run: Run, host: str, port: int) -> socket.socket:
    """A plain connected socket, for a library that connects with one (checked like any)."""
    addr = await resolve(run, host, port)
    run.phase("connect")
    sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (addr, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def connect_bare(run: Run, host: str, port: int) -> asyncio.BaseTransport:
    """A bare TCP connect, no stream objects: the cheapest way to measure connect time."""
    addr = await resolve(run, host, port)
    run.phase("connect")
    transport, _ = await asyncio.get_running_loop().create_connection(asyncio.Protocol, addr, port)
    return transport


# Hostile servers: one protocol line (a status line, a header, a banner) is at most
# this long; the stream reader refuses more without buffering it (line_too_long).
LINE_LIMIT = 16 * 1024


async def connect(run: Run, host: str, port: int, tls: TlsOptions | None = None):
    """Open a stream; with ``tls``, handshake at once (implicit TLS)."""
    addr = await resolve(run, host, port)
    run.phase("connect")
    reader, writer = await asyncio.open_connection(addr, port, limit=LINE_LIMIT)
    if tls is not None:
        await start_tls(run, writer, host, tls)
    return reader, writer


async def start_tls(run: Run, writer: asyncio.StreamWriter, host: str, tls: TlsOptions) -> None:
    run.phase("tls")
    name = tls.server_name or host
    await writer.start_tls(client_context(tls.verify, tls.ca_file), server_hostname=name)
    check_certificate(run, writer.get_extra_info("ssl_object"), tls.min_days_left)


def check_certificate(run: Run, ssl_object: ssl.SSLObject | None, min_days_left: int | None) -> None:
    if ssl_object is None:
        return
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return
    not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
    days = (not_after - datetime.now(timezone.utc)).total_seconds() / 86400
    run.detail["cert_not_after"] = not_after.isoformat()
    run.detail["cert_days_left"] = round(days, 2)
    if min_days_left is not None and days < min_days_left:
        raise ProbeFailure(f"cert_expires_in:{max(int(days), 0)}d")


async def readline(reader: asyncio.StreamReader) -> bytes:
    """One line, at most ``LINE_LIMIT`` bytes, or ``line_too_long``."""
    try:
        return await reader.readline()
    except ValueError:  # the reader's limit: LimitOverrunError surfaces as ValueError from readline()
        raise ProbeFailure("line_too_long") from None


def close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.transport.abort() if writer.transport.is_closing() else writer.close()
