"""SMTP (aiosmtplib): banner, EHLO, STARTTLS or implicit TLS, optional AUTH."""
from __future__ import annotations

import ssl
from typing import Literal

import aiosmtplib

from probes.net import (
    Port,
    TargetModel,
    TlsOptions,
    check_certificate,
    connected_socket,
    tls_context,
)
from probes.registry import Prober, UrlForm
from probes.result import (
    ProbeFailure,
    ProbeResult,
    Run,
    causes,
    classify,
    connect_error,
    guarded,
)

TlsMode = Literal["none", "starttls", "implicit"]


class SmtpTarget(TargetModel):
    host: str
    port: Port = 25
    security: TlsMode = "none"
    tls: TlsOptions = TlsOptions()
    username: str | None = None
    password: str | None = None
    helo_name: str = "slawatch.probe"


async def open_smtp(run: Run, t: SmtpTarget, timeout: float) -> aiosmtplib.SMTP:
    """Connected, greeted, TLS'd and logged in as the target says."""
    ctx = tls_context(t.tls)
    common = dict(use_tls=t.security == "implicit", start_tls=False, tls_context=ctx if t.security != "none" else None,
                  timeout=timeout, local_hostname=t.helo_name, validate_certs=t.tls.verify)
    if t.security == "implicit" and t.tls.server_name:
        # aiosmtplib takes the TLS name from ``hostname``: connect the socket to the
        # address ourselves and give it the name to verify (SNI) instead
        client = aiosmtplib.SMTP(hostname=t.tls.server_name, sock=await connected_socket(run, t.host, t.port),
                                 **common)
    else:
        client = aiosmtplib.SMTP(hostname=t.host, port=t.port, **common)
    run.phase("connect" if t.security != "implicit" else "tls")
    banner = await client.connect()
    run.detail["banner"] = banner.message[:120]
    if t.security == "implicit":
        check_certificate(run, client.transport.get_extra_info("ssl_object"), t.tls.min_days_left)
    run.phase("ehlo")
    await client.ehlo()
    if t.security == "starttls":
        if not client.supports_extension("starttls"):
            raise ProbeFailure("starttls:not_offered")
        run.phase("tls")
        try:
            await client.starttls(tls_context=ctx, server_hostname=t.tls.server_name or t.host)
        except aiosmtplib.SMTPResponseException as exc:
            raise ProbeFailure("starttls:refused", code=exc.code) from None
        check_certificate(run, client.transport.get_extra_info("ssl_object"), t.tls.min_days_left)
        run.phase("ehlo")
        await client.ehlo()
    if t.username is not None:
        run.phase("auth")
        try:
            await client.login(t.username, t.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ProbeFailure("auth_failed", code=exc.code) from None
    return client


def smtp_error(exc: BaseException) -> str | None:
    """aiosmtplib's exceptions as stable codes; timeouts keep the run's phase."""
    if isinstance(exc, TimeoutError):
        return None
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # a 421 greeting too (a connect error with a code)
        if exc.code == -1 and "too long" in exc.message.lower():
            return "line_too_long"  # aiosmtplib's own bound on a reply line (hostile or broken server)
        return f"smtp:{exc.code}"
    tls_cause = next((e for e in causes(exc) if isinstance(e, ssl.SSLError)), None)
    if tls_cause is not None:  # aiosmtplib wraps a failed handshake in its connect error
        return classify(tls_cause, "tls")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return connect_error(exc) or ("refused" if "refused" in str(exc).lower() else "connect:failed")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return "closed"
    return None


async def probe(target: SmtpTarget, timeout: float) -> ProbeResult:
    run = Run()

    async def body() -> ProbeResult:
        client = await open_smtp(run, target, timeout)
        run.phase("quit")
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()
        return run.ok()

    return await guarded(run, body, timeout, smtp_error)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "submission": 587}


def _from_url(f: UrlForm) -> dict:
    security = "implicit" if f.scheme == "smtps" else ("starttls" if f.starttls or f.scheme == "submission"
                                                       else "none")
    return {"host": f.host, "port": f.port or DEFAULT_PORTS[f.scheme], "security": security, "tls": f.tls,
            "username": f.user, "password": f.password}


PROBER = Prober("smtp", SmtpTarget, probe, tuple(DEFAULT_PORTS), _from_url)
