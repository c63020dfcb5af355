"""TCP: connect, optional TLS, optional send and expect (a banner, a reply)."""
from __future__ import annotations

import re

from probes.net import Port, TargetModel, TlsOptions, close, connect, connect_bare
from probes.registry import Prober, UrlForm
from probes.result import ProbeFailure, ProbeResult, Run, guarded

READ_LIMIT = 64 * 1024


class TcpTarget(TargetModel):
    host: str
    port: Port
    tls: TlsOptions | None = None
    send: str | None = None  # written after connecting (\\r\\n as you need them)
    expect: str | None = None  # regex the reply must match


async def probe(target: TcpTarget, timeout: float) -> ProbeResult:
    if target.tls is None and target.send is None and target.expect is None:
        return await _connect_only(target, timeout)
    run = Run()
    writer = None

    async def body() -> ProbeResult:
        nonlocal writer
        reader, writer = await connect(run, target.host, target.port, target.tls)
        if target.send is not None:
            run.phase("send")
            writer.write(target.send.encode())
            await writer.drain()
        if target.expect is not None:
            run.phase("expect")
            pattern, seen = re.compile(target.expect.encode()), b""
            while not pattern.search(seen):
                chunk = await reader.read(4096)
                if not chunk or len(seen) > READ_LIMIT:
                    raise ProbeFailure("expect:no_match", received=seen[:200].decode(errors="replace"))
                seen += chunk
            run.detail["received"] = seen[:200].decode(errors="replace")
        return run.ok()

    try:
        return await guarded(run, body, timeout)
    finally:
        close(writer)


async def _connect_only(target: TcpTarget, timeout: float) -> ProbeResult:
    run = Run()
    transport = None

    async def body() -> ProbeResult:
        nonlocal transport
        transport = await connect_bare(run, target.host, target.port)
        return run.ok()

    try:
        return await guarded(run, body, timeout)
    finally:
        if transport is not None:
            transport.abort()


def _from_url(f: UrlForm) -> dict:
    return {"host": f.host, "port": f.port, "tls": f.tls if f.starttls else None}


PROBER = Prober("tcp", TcpTarget, probe, ("tcp",), _from_url)
