"""POP3: optional STLS or implicit TLS, USER/PASS, STAT. No asyncio POP3 client
exists on PyPI worth the name, and the protocol is four lines; this is it."""
from __future__ import annotations

import asyncio
from typing import Literal

from probes.imap import mailbox_from_url
from probes.net import (
    Port,
    TargetModel,
    TlsOptions,
    close,
    connect,
    readline,
    start_tls,
)
from probes.registry import Prober
from probes.result import ProbeFailure, ProbeResult, Run, guarded


class Pop3Target(TargetModel):
    host: str
    port: Port = 110
    security: Literal["none", "starttls", "implicit"] = "none"
    tls: TlsOptions = TlsOptions()
    username: str
    password: str


MAX_LINES = 10_000  # a multi-line answer (TOP, LIST) longer than this is a hostile server's


class Pop3:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def line(self) -> bytes:
        data = await readline(self.reader)
        if not data:
            raise ProbeFailure("closed")
        return data.rstrip(b"\r\n")

    async def cmd(self, text: str, fail: str) -> bytes:
        self.writer.write(text.encode() + b"\r\n")
        reply = await self.line()
        if not reply.startswith(b"+OK"):
            raise ProbeFailure(fail, reply=reply[:120].decode(errors="replace"))
        return reply

    async def multiline(self, text: str, fail: str) -> list[bytes]:
        await self.cmd(text, fail)
        out = []
        while (line := await self.line()) != b".":
            out.append(line[1:] if line.startswith(b"..") else line)
            if len(out) > MAX_LINES:
                raise ProbeFailure("too_large:response")
        return out

    async def quit(self) -> None:
        self.writer.write(b"QUIT\r\n")
        await readline(self.reader)


async def open_pop3(run: Run, t: Pop3Target) -> tuple[Pop3, asyncio.StreamWriter]:
    reader, writer = await connect(run, t.host, t.port, t.tls if t.security == "implicit" else None)
    pop = Pop3(reader, writer)
    run.phase("banner")
    banner = await pop.line()
    if not banner.startswith(b"+OK"):
        raise ProbeFailure("pop3:bad_banner", banner=banner[:120].decode(errors="replace"))
    run.detail["banner"] = banner[:120].decode(errors="replace")
    if t.security == "starttls":
        await pop.cmd("STLS", "starttls:refused")
        await start_tls(run, writer, t.host, t.tls)
    run.phase("auth")
    await pop.cmd(f"USER {t.username}", "auth_failed")
    await pop.cmd(f"PASS {t.password}", "auth_failed")
    return pop, writer


async def probe(target: Pop3Target, timeout: float) -> ProbeResult:
    run = Run()
    writer = None

    async def body() -> ProbeResult:
        nonlocal writer
        pop, writer = await open_pop3(run, target)
        run.phase("stat")
        stat = await pop.cmd("STAT", "pop3:stat_failed")
        await pop.quit()
        return run.ok(stat=stat.decode(errors="replace"))

    try:
        return await guarded(run, body, timeout)
    finally:
        close(writer)

DEFAULT_PORTS = {"pop3": 110, "pop3s": 995}
PROBER = Prober("pop3", Pop3Target, probe, tuple(DEFAULT_PORTS), lambda f: mailbox_from_url(f, DEFAULT_PORTS))
