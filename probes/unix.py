"""A unix socket (blackbox_exporter's unix prober): connect, optional TLS, and the
same query_response dialogue as tcp. The target is the socket's path; under
``GET /probe`` only a path the allow list names may be reached (``probes.policy``)."""
from __future__ import annotations

import asyncio

from pydantic import Field

from probes.net import LINE_LIMIT, TargetModel, TlsOptions, close, start_tls
from probes.options import Section, TlsConfig
from probes.policy import check_path
from probes.registry import Prober
from probes.result import ProbeResult, Run, guarded
from probes.tcp import MAX_STEPS, QueryResponse, Step, dialogue, dialogue_series


class UnixTarget(TargetModel):
    path: str = Field(pattern=r"^/[^\x00]*$", max_length=107)  # the kernel's limit for a socket path
    tls: TlsOptions | None = None
    query_response: list[Step] = Field([], max_length=MAX_STEPS)
    starttls: TlsOptions | None = None


async def probe(target: UnixTarget, timeout: float) -> ProbeResult:
    run = Run()
    writer = None

    async def body() -> ProbeResult:
        nonlocal writer
        check_path(target.path)
        run.phase("connect")
        reader, writer = await asyncio.open_unix_connection(target.path, limit=LINE_LIMIT)
        # a socket has no host name: the TLS name is the config's own (else "localhost")
        name = (target.tls or target.starttls or TlsOptions()).server_name or "localhost"
        if target.tls is not None:
            await start_tls(run, writer, name, target.tls)
        await dialogue(run, target.query_response, reader, writer, name, target.starttls)
        return run.ok()

    try:
        return await guarded(run, body, timeout)
    finally:
        close(writer)


class UnixModule(Section):
    query_response: list[QueryResponse] = Field([], max_length=MAX_STEPS)
    tls: bool = False
    tls_config: TlsConfig = TlsConfig()


def _from_module(m: UnixModule, target: str) -> dict:
    tls = m.tls_config.options()
    return {"path": target, "tls": tls if m.tls else None, "starttls": tls,
            "query_response": [q.model_dump(exclude_none=True) for q in m.query_response]}


PROBER = Prober("unix", UnixTarget, probe, (), None, _from_module, UnixModule, dialogue_series, "/run/app.sock")
