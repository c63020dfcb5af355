"""Connections shared by the stream probes: timed resolve/connect/TLS phases,
TLS contexts built once, certificate expiry read from the peer certificate."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from datetime import datetime, timezone
from functools import lru_cache
from typing import Annotated, Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, field_validator

from probes import policy
from probes.result import ProbeFailure, Run


class TargetModel(BaseModel):
    """Strict: a misspelt key in a target is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Port = Annotated[int, Field(ge=1, le=65535)]
# an HTTP header as a probe writes it: a token for the name, no line break in the value
# (a value with CR/LF would write headers, or a request, of its own)
HeaderName = Annotated[str, Field(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")]
HeaderValue = Annotated[str, Field(pattern=r"^[^\r\n\x00]*$", max_length=8192)]


class SecretHeader(TargetModel):
    """A header whose value is a secret: sealed at rest and never shown, as every "secret" is."""
    name: HeaderName
    secret: HeaderValue


TlsVersion = Literal["TLS10", "TLS11", "TLS12", "TLS13"]


class TlsOptions(TargetModel):
    verify: bool = True
    ca_file: str | None = None  # a private CA (tests use one made by trustme)
    server_name: str | None = None  # SNI and the name to verify; default the host
    min_days_left: int | None = Field(None, ge=0, le=3650)  # fail with cert_expires_in:Nd below this
    cert_file: str | None = None  # a client certificate (and its key) to present
    key_file: str | None = None
    min_version: TlsVersion | None = None
    max_version: TlsVersion | None = None


_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1, "TLS12": ssl.TLSVersion.TLSv1_2,
             "TLS13": ssl.TLSVersion.TLSv1_3}


class IpChoice(TargetModel):
    """Which address of a name to connect to: blackbox_exporter's rule (one address, of
    ``ip_protocol``'s family where there is one; the other only with ``ip_fallback``).
    None: the resolver's first answer."""
    ip_protocol: Literal["ip4", "ip6"] | None = None
    ip_fallback: bool = True
    source_ip: str | None = None  # the local address to connect from (blackbox's source_ip_address)

    @field_validator("source_ip")
    @classmethod
    def _source(cls, v: str | None) -> str | None:
        if v is not None and not is_ip(v):
            raise ValueError(f"{v!r} is not an IP address")
        return v


def local(choice: IpChoice | None) -> tuple[str, int] | None:
    """Where to bind before connecting: the choice's source address, any port."""
    return (choice.source_ip, 0) if choice is not None and choice.source_ip else None


def tls_context(tls: TlsOptions) -> ssl.SSLContext:
    return client_context(tls.verify, tls.ca_file, tls.cert_file, tls.key_file, tls.min_version, tls.max_version)


@lru_cache(maxsize=64)
def client_context(verify: bool = True, ca_file: str | None = None, cert_file: str | None = None,
                   key_file: str | None = None, min_version: str | None = None,
                   max_version: str | None = None) -> ssl.SSLContext:
    """Built once per set of options: creating a context costs more than a handshake."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    if min_version:
        ctx.minimum_version = _VERSIONS[min_version]
    if max_version:
        ctx.maximum_version = _VERSIONS[max_version]
    return ctx


@lru_cache(maxsize=65536)
def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _family(addr: str) -> str:
    return "ip6" if ":" in addr else "ip4"


def choose(addresses: list[str], choice: IpChoice | None) -> str:
    """One address (blackbox_exporter's chooseProtocol): the preferred family's first,
    else, with fallback, the other's."""
    if choice is None or choice.ip_protocol is None:
        return addresses[0]
    preferred = [a for a in addresses if _family(a) == choice.ip_protocol]
    if preferred:
        return preferred[0]
    if not choice.ip_fallback:
        raise ProbeFailure(f"resolve:no_{choice.ip_protocol}")
    return addresses[0]


async def resolve(run: Run, host: str, port: int, choice: IpChoice | None = None) -> str:
    """The address to connect to (timed as ``resolve`` when ``host`` is a name),
    checked against the call's address policy; kept in ``detail["_ip"]``."""
    if is_ip(host):
        addr = choose([host], choice)
        policy.check(addr)
        run.detail["_ip"] = addr
        return addr
    run.phase("resolve")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # a name IDNA cannot encode is no name at all
        raise ProbeFailure("resolve:failed") from None
    if not infos:
        raise ProbeFailure("resolve:failed")
    addr = choose([i[4][0] for i in infos], choice)
    policy.check(addr, host)
    run.detail["_ip"] = addr
    return addr


async def connected_socket(run: Run, host: str, port: int, choice: IpChoice | None = None) -> socket.socket:
    """A plain connected socket, for a library that connects with one (checked like any)."""
    addr = await resolve(run, host, port, choice)
    run.phase("connect")
    sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        if local(choice):
            sock.bind(local(choice))
        await asyncio.get_running_loop().sock_connect(sock, (addr, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def connect_bare(run: Run, host: str, port: int, choice: IpChoice | None = None) -> asyncio.BaseTransport:
    """A bare TCP connect, no stream objects: the cheapest way to measure connect time."""
    addr = await resolve(run, host, port, choice)
    run.phase("connect")
    transport, _ = await asyncio.get_running_loop().create_connection(asyncio.Protocol, addr, port,
                                                                       local_addr=local(choice))
    return transport


# Hostile servers: one protocol line (a status line, a header, a banner) is at most
# this long; the stream reader refuses more without buffering it (line_too_long).
LINE_LIMIT = 16 * 1024


async def connect(run: Run, host: str, port: int, tls: TlsOptions | None = None, choice: IpChoice | None = None):
    """Open a stream; with ``tls``, handshake at once (implicit TLS)."""
    addr = await resolve(run, host, port, choice)
    run.phase("connect")
    reader, writer = await asyncio.open_connection(addr, port, limit=LINE_LIMIT, local_addr=local(choice))
    if tls is not None:
        await start_tls(run, writer, host, tls)
    return reader, writer


async def start_tls(run: Run, writer: asyncio.StreamWriter, host: str, tls: TlsOptions) -> None:
    run.phase("tls")
    name = tls.server_name or host
    await writer.start_tls(tls_context(tls), server_hostname=name)
    check_certificate(run, writer.get_extra_info("ssl_object"), tls.min_days_left)


def _chain(ssl_object, which: str = "get_verified_chain") -> list[bytes]:
    """The verified chain's (or the certificates the peer sent: ``get_unverified_chain``)
    certificates (DER), leaf first; the leaf alone where the chain is not available
    (verification off, or an ssl module without the call: public from Python 3.13)."""
    get = getattr(ssl_object, which, None) or getattr(getattr(ssl_object, "_sslobj", None), which, None)
    try:
        chain = get() if get is not None else None
    except (ssl.SSLError, ValueError):
        chain = None
    if chain:
        return [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]
    der = ssl_object.getpeercert(binary_form=True)
    return [der] if der else []


def _earliest(chain: list[bytes]) -> float:
    return min(x509.load_der_x509_certificate(c).not_valid_after_utc for c in chain).timestamp()


def check_certificate(run: Run, ssl_object: ssl.SSLObject | None, min_days_left: int | None) -> None:
    if ssl_object is None:
        return
    chain = _chain(ssl_object)
    if not chain:
        return
    leaf = x509.load_der_x509_certificate(chain[0])
    not_after = leaf.not_valid_after_utc
    days = (not_after - datetime.now(timezone.utc)).total_seconds() / 86400
    sent = _chain(ssl_object, "get_unverified_chain") or chain
    # blackbox's two expiries: the earliest of what the peer sent, and of the verified chain
    run.detail["_tls"] = {"version": ssl_object.version(), "leaf": leaf, "der": chain[0],
                          "sent_not_after": _earliest(sent), "chain_not_after": _earliest(chain)}
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
