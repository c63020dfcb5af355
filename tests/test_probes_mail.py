"""Mail probes against real peers: dovecot (IMAP, POP3, TLS, LMTP) and an SMTP
server (aiosmtpd) that delivers into it, so the round trip finds a real message."""
import asyncio
import socket
import threading

import pytest
from conftest import server_context

from probes import PROBES
from probes.imap import ImapTarget
from probes.mail_roundtrip import MailRoundtripTarget
from probes.net import TlsOptions
from probes.pop3 import Pop3Target
from probes.smtp import SmtpTarget
from tests.peers.dovecot import PASSWORD, USER, start_dovecot
from tests.peers.smtp_relay import start_relay
from tests.peers.util import wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


def run(proto, target, timeout=5.0):
    return asyncio.run(PROBES[proto](target, timeout))


@pytest.fixture(scope="module")
def dovecot(localhost_cert):
    dc = start_dovecot(localhost_cert.cert_chain_pems[0].bytes().decode(),
                       localhost_cert.private_key_pem.bytes().decode())
    yield dc
    dc.stop()


@pytest.fixture(scope="module")
def relay(dovecot, localhost_cert):
    r = start_relay(dovecot.lmtp, server_context(localhost_cert))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def black_hole(localhost_cert):
    """Accepts every message and delivers none."""
    r = start_relay(None, server_context(localhost_cert))
    yield r
    r.stop()


@pytest.fixture
def tls(ca_file):
    return TlsOptions(ca_file=ca_file)


def smtp(relay, tls, **kw):
    return SmtpTarget(host="127.0.0.1", port=relay.port, security="starttls", tls=tls,
                      username=USER, password=PASSWORD, **kw)


def test_smtp_starttls_auth(relay, tls):
    r = run("smtp", smtp(relay, tls))
    assert r.ok and {"connect", "ehlo", "tls", "auth"} <= set(r.phases) and "SMTP" in r.detail["banner"]
    bad = run("smtp", smtp(relay, tls).model_copy(update={"password": "wrong"}))
    assert (bad.ok, bad.error) == (False, "auth_failed")


def test_smtp_without_starttls_offered(black_hole):
    plain = start_relay(None)
    try:
        r = run("smtp", SmtpTarget(host="127.0.0.1", port=plain.port, security="starttls"))
        assert (r.ok, r.error) == (False, "starttls:not_offered")
    finally:
        plain.stop()


class Scripted:
    """A scripted SMTP peer for failures a real server rarely shows on demand."""

    def __init__(self, lines_after_ehlo: list[bytes], close_after_banner: bool = False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.lines, self.close_after_banner = lines_after_ehlo, close_after_banner
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"220 scripted ESMTP\r\n")
                if self.close_after_banner:
                    continue
                f = conn.makefile("rb")
                f.readline()
                conn.sendall(b"250-scripted\r\n250 STARTTLS\r\n")
                f.readline()
                for line in self.lines:
                    conn.sendall(line)

    def close(self):
        self.sock.close()


def test_smtp_starttls_refused_and_server_gone_mid_session():
    refusing = Scripted([b"454 TLS not available due to temporary reason\r\n"])
    dropping = Scripted([], close_after_banner=True)
    try:
        r = run("smtp", SmtpTarget(host="127.0.0.1", port=refusing.port, security="starttls"))
        assert (r.ok, r.error) == (False, "starttls:refused")
        r = run("smtp", SmtpTarget(host="127.0.0.1", port=dropping.port))
        assert not r.ok and r.error in ("closed", "closed:ehlo"), r.error
    finally:
        refusing.close()
        dropping.close()


def test_smtp_implicit_tls(localhost_cert, tls):
    implicit = start_relay(None, server_context(localhost_cert), implicit_tls=True)
    try:
        r = run("smtp", SmtpTarget(host="127.0.0.1", port=implicit.port, security="implicit", tls=tls))
        assert r.ok and r.detail["cert_not_after"]
    finally:
        implicit.stop()


@pytest.mark.parametrize("port_name, security", [("imap", "none"), ("imap", "starttls"), ("imaps", "implicit")])
def test_imap_login_select(dovecot, tls, port_name, security):
    t = ImapTarget(host="127.0.0.1", port=getattr(dovecot, port_name), security=security, tls=tls,
                   username=USER, password=PASSWORD)
    r = run("imap", t)
    assert r.ok and {"banner", "auth", "select"} <= set(r.phases), r
    if security != "none":  # the login went over TLS: the certificate was seen
        assert r.detail["cert_not_after"] and ("tls" in r.phases) == (security == "starttls")
    bad = run("imap", t.model_copy(update={"password": "wrong"}))
    assert (bad.ok, bad.error) == (False, "auth_failed")


@pytest.mark.parametrize("port_name, security", [("pop3", "none"), ("pop3", "starttls"), ("pop3s", "implicit")])
def test_pop3_login_stat(dovecot, tls, port_name, security):
    t = Pop3Target(host="127.0.0.1", port=getattr(dovecot, port_name), security=security, tls=tls,
                   username=USER, password=PASSWORD)
    r = run("pop3", t)
    assert r.ok and r.detail["stat"].startswith("+OK")
    assert ("tls" in r.phases) == (security != "none")
    bad = run("pop3", t.model_copy(update={"password": "wrong"}))
    assert (bad.ok, bad.error) == (False, "auth_failed")


@pytest.mark.parametrize("via", ["imap", "pop3"])
def test_round_trip_finds_the_real_message_and_deletes_it(dovecot, relay, tls, via):
    box = {"imap": ImapTarget(host="127.0.0.1", port=dovecot.imap, username=USER, password=PASSWORD),
           "pop3": Pop3Target(host="127.0.0.1", port=dovecot.pop3, username=USER, password=PASSWORD)}[via]
    t = MailRoundtripTarget(smtp=smtp(relay, tls), mail_from="probe@localhost", rcpt_to="alice@localhost",
                            poll_interval=0.1, **{via: box})
    r = run("mail_roundtrip", t)
    assert r.ok, r.error
    assert r.phases["send"] > 0 and r.phases["deliver"] > 0 and r.detail["message_id"]
    # deleted on arrival: the mailbox is empty again
    stat = run("pop3", Pop3Target(host="127.0.0.1", port=dovecot.pop3, username=USER, password=PASSWORD))
    assert stat.detail["stat"] == "+OK 0 0"


@pytest.mark.parametrize("via", ["imap", "pop3"])
def test_round_trip_deletes_the_leftovers_of_earlier_ones(dovecot, relay, tls, via):
    """A probe message dated two days ago (a round trip that failed then) and a
    fresh one of another location: the next round trip deletes the old one with
    its own and leaves the fresh one alone."""
    import poplib
    import smtplib
    from datetime import datetime, timedelta, timezone
    from email.message import EmailMessage
    from email.utils import format_datetime

    def count():
        return int(run("pop3", pop).detail["stat"].split()[1])
    pop = Pop3Target(host="127.0.0.1", port=dovecot.pop3, username=USER, password=PASSWORD)
    before = count()
    for nonce, age in (("0" * 32, timedelta(days=2)), ("1" * 32, timedelta(minutes=1))):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "probe@localhost", "alice@localhost", f"slawatch round trip {nonce}"
        msg["Date"] = format_datetime(datetime.now(timezone.utc) - age)
        msg["X-Slawatch-Nonce"] = nonce
        msg.set_content("left over\n")
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as s:
            s.send_message(msg)
    assert wait_until(lambda: count() == before + 2, 10)
    box = {"imap": ImapTarget(host="127.0.0.1", port=dovecot.imap, username=USER, password=PASSWORD),
           "pop3": pop}[via]
    t = MailRoundtripTarget(smtp=smtp(relay, tls), mail_from="probe@localhost", rcpt_to="alice@localhost",
                            poll_interval=0.1, **{via: box})
    r = run("mail_roundtrip", t)
    assert r.ok and r.detail["stale_deleted"] == 1, (r.error, r.detail)
    assert count() == before + 1  # the fresh one (another location's, in flight) stays
    p = poplib.POP3("127.0.0.1", dovecot.pop3, timeout=10)  # leave the mailbox as the other tests expect it
    try:
        p.user(USER)
        p.pass_(PASSWORD)
        for i in range(1, len(p.list()[1]) + 1):
            p.dele(i)
    finally:
        p.quit()


def test_round_trip_message_never_arrives(dovecot, black_hole, tls):
    t = MailRoundtripTarget(smtp=smtp(black_hole, tls), mail_from="probe@localhost", rcpt_to="alice@localhost",
                            poll_interval=0.1,
                            imap=ImapTarget(host="127.0.0.1", port=dovecot.imap, username=USER, password=PASSWORD))
    r = run("mail_roundtrip", t, timeout=1.5)
    assert (r.ok, r.error) == (False, "not_delivered")
    assert r.phases["send"] > 0


def test_round_trip_errors_name_the_leg(relay, tls, closed_port):
    """A refused connection says which leg failed: sending (smtp) or fetching (imap/pop3)."""
    box = ImapTarget(host="127.0.0.1", port=closed_port, username=USER, password=PASSWORD)
    down_smtp = MailRoundtripTarget(smtp=SmtpTarget(host="127.0.0.1", port=closed_port), mail_from="probe@localhost",
                                    rcpt_to="alice@localhost", imap=box)
    r = run("mail_roundtrip", down_smtp, timeout=3)
    assert (r.ok, r.error) == (False, "smtp:refused")
    down_box = MailRoundtripTarget(smtp=smtp(relay, tls), mail_from="probe@localhost", rcpt_to="alice@localhost",
                                   pop3=Pop3Target(host="127.0.0.1", port=closed_port, username=USER, password=PASSWORD))
    r = run("mail_roundtrip", down_box, timeout=3)
    assert (r.ok, r.error) == (False, "pop3:refused")


def test_imap_server_stopped(localhost_cert, tls):
    dc = start_dovecot(localhost_cert.cert_chain_pems[0].bytes().decode(),
                       localhost_cert.private_key_pem.bytes().decode())
    dc.stop()
    r = run("imap", ImapTarget(host="127.0.0.1", port=dc.imap, username=USER, password=PASSWORD), timeout=2)
    assert not r.ok and r.error in ("refused", "closed", "timeout:banner"), r.error


def test_imap_starttls_checks_the_certificate_and_the_offer(dovecot, ca_file):
    t = ImapTarget(host="127.0.0.1", port=dovecot.imap, security="starttls", username=USER, password=PASSWORD,
                   tls=TlsOptions(ca_file=ca_file, server_name="mail.example.net"))
    r = run("imap", t)
    assert (r.ok, r.error) == (False, "tls:hostname")

    async def no_starttls():  # the demo's small IMAP server never offers STARTTLS
        from app.demo.mailbox import Maildrop, imap_session
        server = await asyncio.start_server(lambda rd, wr: imap_session(Maildrop(), rd, wr), "127.0.0.1", 0)
        try:
            return await PROBES["imap"](t.model_copy(update={"port": server.sockets[0].getsockname()[1]}), 5)
        finally:
            server.close()
    r = asyncio.run(no_starttls())
    assert (r.ok, r.error) == (False, "starttls:not_offered")


def test_smtp_tls_server_name_differs_from_the_address(localhost_cert, relay, ca_file):
    """The certificate names "localhost"; the probe connects to 127.0.0.1 and checks
    the name it is told (implicit TLS and STARTTLS), and a wrong name fails."""
    implicit = start_relay(None, server_context(localhost_cert), implicit_tls=True)
    try:
        for name, expected in (("localhost", (True, None)), ("mail.example.net", (False, "tls:hostname"))):
            tls = TlsOptions(ca_file=ca_file, server_name=name)
            r = run("smtp", SmtpTarget(host="127.0.0.1", port=implicit.port, security="implicit", tls=tls))
            assert (r.ok, r.error) == expected, (name, r.error, r.detail)
            r = run("smtp", SmtpTarget(host="127.0.0.1", port=relay.port, security="starttls", tls=tls,
                                       username=USER, password=PASSWORD))
            assert (r.ok, r.error) == expected, (name, r.error, r.detail)
    finally:
        implicit.stop()
