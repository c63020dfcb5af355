"""IMAP (aioimaplib): greeting, login, SELECT INBOX; plain, implicit TLS, or
STARTTLS (aioimaplib knows the command but not the upgrade: the probe upgrades
its transport with the event loop's ``start_tls`` and asks CAPABILITY again, as
RFC 3501 §6.2.1 requires)."""
from __future__ import annotations

import asyncio
from typing import Literal

import aioimaplib

from probes.net import TargetModel, TlsOptions, check_certificate, client_context
from probes.result import ProbeFailure, ProbeResult, Run, guarded


class ImapTarget(TargetModel):
    host: str
    port: int = 143
    security: Literal["none", "starttls", "implicit"] = "none"
    tls: TlsOptions = TlsOptions()
    username: str
    password: str
    mailbox: str = "INBOX"


def new_client(run: Run, t: ImapTarget, timeout: float) -> aioimaplib.IMAP4:
    run.phase("connect")
    if t.security == "implicit":
        client = aioimaplib.IMAP4_SSL(host=t.host, port=t.port, timeout=timeout,
                                      ssl_context=client_context(t.tls.verify, t.tls.ca_file))
    else:
        client = aioimaplib.IMAP4(host=t.host, port=t.port, timeout=timeout)
    _watch_greeting(client)
    return client


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


async def login(run: Run, client: aioimaplib.IMAP4, t: ImapTarget) -> None:
    run.phase("banner")
    hello = asyncio.ensure_future(client.wait_hello_from_server())
    try:
        await asyncio.wait([hello, client.protocol.greeting], return_when=asyncio.FIRST_COMPLETED)
        greeting = client.protocol.greeting.result() if client.protocol.greeting.done() else b""
        if greeting.startswith(b"* BYE"):
            raise ProbeFailure("imap:bye", reply=greeting[:120].decode(errors="replace"))
        await hello
    finally:
        hello.cancel()
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
        protocol.transport, protocol, client_context(t.tls.verify, t.tls.ca_file),
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
        await login(run, client, target)
        run.phase("logout")
        await client.logout()
        return run.ok()

    try:
        return await guarded(run, body, timeout, imap_error)
    finally:
        drop(client)
