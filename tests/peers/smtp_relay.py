"""A real SMTP server (aiosmtpd) on a free loopback port that delivers each
message into dovecot over LMTP — or drops it, for "message never arrives"."""
from __future__ import annotations

import asyncio
import smtplib
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.peers.util import free_port


class Relay:
    def __init__(self, lmtp_port: int | None):
        self.lmtp_port = lmtp_port
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        if self.lmtp_port is None:
            return "250 OK (dropped)"
        def deliver():
            with smtplib.LMTP("127.0.0.1", self.lmtp_port) as lmtp:
                lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.content)
        await asyncio.get_running_loop().run_in_executor(None, deliver)
        return "250 OK delivered"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alice" and auth_data.password == b"secret"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def start_relay(lmtp_port: int | None, tls_context: ssl.SSLContext | None = None,
                implicit_tls: bool = False) -> Controller:
    tls = {"ssl_context": tls_context} if implicit_tls else {"tls_context": tls_context}
    ctl = Controller(Relay(lmtp_port), hostname="127.0.0.1", port=free_port(), require_starttls=False,
                     authenticator=_auth, auth_require_tls=False, **tls)
    ctl.start()
    return ctl
