"""TCP: connect, optional TLS, optional dialogue — blackbox_exporter's
``query_response``: expect a line matching a regex, send a line (``${1}`` from the
match), upgrade to TLS (``starttls``) — or slawatch's one send and one expect."""
from __future__ import annotations

import re

from pydantic import Field, model_validator

from probes import series
from probes.net import IpChoice, Port, TargetModel, TlsOptions, close, connect, connect_bare, readline, start_tls
from probes.options import IpSection, Regex, Section, TlsConfig
from probes.registry import Prober, UrlForm, host_port
from probes.result import ProbeFailure, ProbeResult, Run, guarded

READ_LIMIT = 64 * 1024
MAX_STEPS = 64
EXPECT_LINES = 1000  # lines read while waiting for one expect: a chatty server cannot keep the probe forever


class Label(TargetModel):
    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    value: str


class Step(TargetModel):
    """One step of a dialogue, in blackbox's order: expect, then send, then starttls."""
    expect: str | None = None  # a regex one line must match
    expect_bytes: str | None = None  # these bytes, exactly
    send: str | None = None  # a line (``\n`` added); ``${1}`` … from the expect's match
    starttls: bool = False
    labels: list[Label] = []  # exported on probe_expect_info, ``${1}`` expanded


class TcpTarget(IpChoice):
    host: str
    port: Port
    tls: TlsOptions | None = None
    send: str | None = None  # written after connecting (\\r\\n as you need them)
    expect: str | None = None  # regex the reply must match
    query_response: list[Step] = Field([], max_length=MAX_STEPS)
    starttls: TlsOptions | None = None  # the TLS a ``starttls`` step upgrades to (default: verify, host name)


def expand(template: str, match: re.Match | None) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``${name}``, ``$$``; unknown groups are empty."""
    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        key = m.group(1) or m.group(2)
        if match is None:
            return ""
        try:
            return match.group(int(key) if key.isdigit() else key) or ""
        except (IndexError, re.error):
            return ""
    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", one, template)


async def dialogue(run: Run, steps: list[Step], reader, writer, server_name: str,
                   starttls: TlsOptions | None) -> None:
    """blackbox's query_response, step by step (shared by the unix prober)."""
    for i, step in enumerate(steps):
        match = None
        if step.expect is not None:
            run.phase("expect")
            pattern = re.compile(step.expect)
            for _ in range(EXPECT_LINES):
                line = await readline(reader)
                if not line:
                    break
                match = pattern.search(line.decode("utf-8", "replace").rstrip("\r\n"))
                if match:
                    break
            if match is None:
                raise ProbeFailure("regex:expect", step=i)
            if step.labels:
                run.detail.setdefault("_expect_info", []).append(
                    {label.name: expand(label.value, match) for label in step.labels})
        if step.expect_bytes is not None:
            want = step.expect_bytes.encode()
            got = await reader.readexactly(len(want))
            if got != want:
                raise ProbeFailure("regex:expect_bytes", step=i)
        if step.send is not None:
            run.phase("send")
            writer.write((expand(step.send, match) + "\n").encode())
            await writer.drain()
        if step.starttls:
            await start_tls(run, writer, server_name, starttls or TlsOptions())


async def probe(target: TcpTarget, timeout: float) -> ProbeResult:
    if target.tls is None and target.send is None and target.expect is None and not target.query_response:
        return await _connect_only(target, timeout)
    run = Run()
    writer = None

    async def body() -> ProbeResult:
        nonlocal writer
        reader, writer = await connect(run, target.host, target.port, target.tls, target)
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
        await dialogue(run, target.query_response, reader, writer, target.host, target.starttls)
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
        transport = await connect_bare(run, target.host, target.port, target)
        return run.ok()

    try:
        return await guarded(run, body, timeout)
    finally:
        if transport is not None:
            transport.abort()


def _from_url(f: UrlForm) -> dict:
    return {"host": f.host, "port": f.port, "tls": f.tls if f.starttls else None}


# ---- blackbox_exporter's tcp module (CONFIGURATION.md <tcp_probe>) ----

class QueryResponse(Section):
    expect: Regex | None = None
    expect_bytes: str | None = None
    send: str | None = None
    starttls: bool = False
    labels: list[Label] = []

    @model_validator(mode="after")
    def _one_expect(self):
        if self.expect is not None and self.expect_bytes is not None:
            raise ValueError("expect and expect_bytes are mutually exclusive")
        return self


class TcpModule(IpSection):
    query_response: list[QueryResponse] = Field([], max_length=MAX_STEPS)
    tls: bool = False
    tls_config: TlsConfig = TlsConfig()


def _from_module(m: TcpModule, target: str) -> dict:
    host, port = host_port(target)
    tls = m.tls_config.options()
    return {"host": host, **({"port": port} if port is not None else {}), "tls": tls if m.tls else None,
            "starttls": tls, "query_response": [q.model_dump(exclude_none=True) for q in m.query_response],
            **m.ip()}


def dialogue_series(result: ProbeResult) -> list[series.Series]:
    """What a query_response dialogue tells (tcp and unix): a regex that failed, labels matched, TLS."""
    out = [series.Series("probe_failed_due_to_regex", "Indicates if probe failed due to regex",
                         int((result.error or "").startswith("regex:")))]
    for labels in result.detail.get("_expect_info", []):
        out.append(series.Series("probe_expect_info", "Explicit content matched", 1.0, labels))
    return out + series.tls(result)


def _series(result: ProbeResult) -> list[series.Series]:
    return dialogue_series(result) + series.address(result)


PROBER = Prober("tcp", TcpTarget, probe, ("tcp",), _from_url, _from_module, TcpModule, _series)
