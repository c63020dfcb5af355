"""IMAP (aioimaplib): greeting, login, SELECT INBOX; plain, implicit TLS, or
STARTTLS (aioimaplib knows the command but not the upgrade: the probe upgrades
its transport with the event loop's ``start_tls`` and asks CAPABILITY again, as
RFC 3501 §6.2.1 requires)."""
from __future__ import annotations

import asyncio
from typing import Literal

import aioimaplib

from probes.net import Port, TargetModel, TlsOptions, check_certificate, tls_context
from probes.registry import Prober, ProbeUrlError, UrlForm
from probes.result import ProbeFailure, ProbeResult, Run, guarded

# Hostile servers: aioimaplib re-joins and re-scans an unfinished line on every
# read (an endless greeting costs CPU that grows with its length), and handles a
# read's lines by recursion, one level and one copy of the rest per line. A line
# longer than LINE_LIMIT, more than MAX_LINES or TOTAL_LIMIT in one session end
# it; reads are handed over SLICE_LINES lines at a time. A probe's session
# (greeting, LOGIN, SELECT, SEARCH, STORE, LOGOUT) is a few dozen lines.
LINE_LIMIT = 64 * 1024
TOTAL_LIMIT = 4 * 1024 * 1024
MAX_LINES = 2000
SLICE_LINES = 64


class ImapTarget(TargetModel):
    host: str
    port: Port = 143
    security: Literal["none", "starttls", "implicit"] = "none"
    tls: TlsOptions = TlsOptions()
    username: str
    password: str
    mailbox: str = "INBOX"


def new_client(run: Run, t: ImapTarget, timeout: float) -> aioimaplib.IMAP4:
    run.phase("connect")
    if t.security == "implicit":
        client = aioimaplib.IMAP4_SSL(host=t.host, port=t.port, timeout=timeout,
                                      ssl_context=tls_context(t.tls))
    else:
        client = aioimaplib.IMAP4(host=t.host, port=t.port, timeout=timeout)
    _watch_greeting(client)
    _bound(client)
    return client


def _bound(client: aioimaplib.IMAP4) -> None:
    """Count what the server sends before aioimaplib sees it; past a bound, close
    the connection and resolve ``protocol.overflow`` with the stable error."""
    protocol = client.protocol
    received = protocol.data_received
    protocol.overflow = overflow = asyncio.get_running_loop().create_future()
    seen = {"line": 0, "total": 0, "lines": 0}

    def data_received(data: bytes) -> None:
        if overflow.done():
            return
        seen["total"] += len(data)
        seen["lines"] += data.count(b"\n")
        newline = data.rfind(b"\n")
        seen["line"] = len(data) - newline - 1 if newline >= 0 else seen["line"] + len(data)
        error = ("line_too_long" if seen["line"] > LINE_LIMIT else
                 "too_large:response" if seen["total"] > TOTAL_LIMIT or seen["lines"] > MAX_LINES else None)
        if error is not None:
            overflow.set_result(error)
            if protocol.transport is not None:
                protocol.transport.close()
            return
        start = 0
        while start < len(data):  # a few lines at a time: aioimaplib recurses once per line
            end = start
            for _ in range(SLICE_LINES):
                newline = data.find(b"\n", end)
                end = len(data) if newline < 0 else newline + 1
                if newline < 0:
                    break
            received(data[start:end])
            start = end

    protocol.data_received = data_received


async def bounded(client: aioimaplib.IMAP4, work) -> None:
    """Await ``work`` unless the server overflows a bound first (then fail with it)."""
    task = asyncio.ensure_future(work)
    overflow = client.protocol.overflow
    try:
        await asyncio.wait([task, overflow], return_when=asyncio.FIRST_COMPLETED)
        if overflow.done():
            raise ProbeFailure(overflow.result())
        return task.result()
    finally:
        if not task.done():
            # the greeting's handler holds aioimaplib's state lock while it waits for CAPABILITY;
            # a cancelled hello wait must take that lock back before it ends, so it goes first
            # (else the cancel waits out the probe's timeout: timeout:banner, not the overflow)
            for welcome in list(client.protocol.tasks):
                welcome.cancel()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _watch_greeting(client: aioimaplib.IMAP4) -> None:
    """aioimaplib turns a ``* BYE`` greeting into an exception in a task nobody
    awaits and then waits out the timeout; keep the greeting so login can fail
    at once with the server's words (and nothing is logged as unretrieved)."""
    protocol = client.protocol
    protocol.greeting = asyncio.get_running_loop().create_future()
    welcome = protocol.welcome

    async def watched(line: bytes) -> None:
        if not protocol.greeting.done():
            protocol.greeting.set_result(line)
        try:
            await welcome(line)
        except aioimaplib.Error:
            pass  # reported by login() from the greeting

    protocol.welcome = watched


def drop(client: aioimaplib.IMAP4 | None) -> None:
    """Close the connection whatever state it is in (a failed login included)."""
    protocol = getattr(client, "protocol", None)
    if protocol is not None and getattr(protocol, "transport", None) is not None:
        protocol.transport.close()


async def _greeted(client: aioimaplib.IMAP4) -> None:
    hello = asyncio.ensure_future(client.wait_hello_from_server())
    try:
        await asyncio.wait([hello, client.protocol.greeting], return_when=asyncio.FIRST_COMPLETED)
        greeting = client.protocol.greeting.result() if client.protocol.greeting.done() else b""
        if greeting.startswith(b"* BYE"):
            raise ProbeFailure("imap:bye", reply=greeting[:120].decode(errors="replace"))
        await hello
    finally:
        hello.cancel()


async def login(run: Run, client: aioimaplib.IMAP4, t: ImapTarget) -> None:
    run.phase("banner")
    # bounded too: a greeting followed at once by a flood can overflow in the first read,
    # before the greeting is handed over (it then waited out the timeout as timeout:banner)
    await bounded(client, _greeted(client))
    if client.protocol is None or client.protocol.state != "NONAUTH":
        raise ProbeFailure("imap:no_greeting")
    if t.security == "starttls":
        await _starttls(run, client, t)
    if t.security != "none":
        check_certificate(run, client.protocol.transport.get_extra_info("ssl_object"), t.tls.min_days_left)
    run.phase("auth")
    res = await client.login(t.username, t.password)
    if res.result != "OK":
        raise ProbeFailure("auth_failed", reply=_text(res))
    run.phase("select")
    res = await client.select(t.mailbox)
    if res.result != "OK":
        raise ProbeFailure("imap:select_failed", reply=_text(res))


async def _starttls(run: Run, client: aioimaplib.IMAP4, t: ImapTarget) -> None:
    protocol = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise ProbeFailure("starttls:not_offered")
    run.phase("tls")
    res = await asyncio.wait_for(protocol.execute(aioimaplib.Command("STARTTLS", protocol.new_tag())),
                                 client.timeout)
    if res.result != "OK":
        raise ProbeFailure("starttls:refused", reply=_text(res))
    protocol.transport = await asyncio.get_running_loop().start_tls(
        protocol.transport, protocol, tls_context(t.tls),
        server_hostname=t.tls.server_name or t.host)
    await asyncio.wait_for(protocol.capability(), client.timeout)  # what the server offers now


def _text(res) -> str:
    return b" ".join(x for x in res.lines if isinstance(x, bytes))[:120].decode(errors="replace")


def imap_error(exc: BaseException) -> str | None:
    if isinstance(exc, aioimaplib.CommandTimeout):
        return None
    if isinstance(exc, aioimaplib.Abort):
        return "closed"
    return None


async def probe(target: ImapTarget, timeout: float) -> ProbeResult:
    run = Run()
    client = None

    async def body() -> ProbeResult:
        nonlocal client
        client = new_client(run, target, timeout)

        async def session() -> None:
            await login(run, client, target)
            run.phase("logout")
            await client.logout()
        await bounded(client, session())
        return run.ok()

    try:
        return await guarded(run, body, timeout, imap_error)
    finally:
        drop(client)

DEFAULT_PORTS = {"imap": 143, "imaps": 993}


def mailbox_from_url(f: UrlForm, ports: dict[str, int]) -> dict:
    """IMAP and POP3 alike: a user and a password, implicit TLS for the ``…s`` scheme."""
    if f.user is None or f.password is None:
        raise ProbeUrlError(f"{f.url}: {f.scheme.rstrip('s')} needs a user and a password "
                            "(user:pass@host, or --username/--password)")
    security = "implicit" if f.scheme.endswith("s") else ("starttls" if f.starttls else "none")
    return {"host": f.host, "port": f.port or ports[f.scheme], "security": security, "tls": f.tls,
            "username": f.user, "password": f.password}


PROBER = Prober("imap", ImapTarget, probe, tuple(DEFAULT_PORTS), lambda f: mailbox_from_url(f, DEFAULT_PORTS))
