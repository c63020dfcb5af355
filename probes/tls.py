"""TLS: handshake, host name, days until the certificate expires."""
from __future__ import annotations

from probes.net import Port, TargetModel, TlsOptions, close, connect
from probes.registry import Prober, UrlForm
from probes.result import ProbeResult, Run, guarded


class TlsTarget(TargetModel):
    host: str
    port: Port = 443
    tls: TlsOptions = TlsOptions(min_days_left=14)


async def probe(target: TlsTarget, timeout: float) -> ProbeResult:
    run = Run()
    writer = None

    async def body() -> ProbeResult:
        nonlocal writer
        _, writer = await connect(run, target.host, target.port, target.tls)
        ssl_object = writer.get_extra_info("ssl_object")
        return run.ok(tls_version=ssl_object.version(), cipher=ssl_object.cipher()[0])

    try:
        return await guarded(run, body, timeout)
    finally:
        close(writer)


def _from_url(f: UrlForm) -> dict:
    return {"host": f.host, "port": f.port or 443,
            "tls": f.tls.model_copy(update={"min_days_left": f.min_days_left or 14})}


PROBER = Prober("tls", TlsTarget, probe, ("tls",), _from_url)
