"""SMS probes: a real Kannel (bearerbox, smsbox, fake SMSC) whose delivery report
reaches slawatch's receiver; a generic HTTP gateway that calls back; the send
window (inolink-sms 一.3) and content rejection (二.9)."""
import asyncio
import re
import threading
from datetime import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from probes import sms
from probes.sms_delivery import start_receiver
from tests.peers.kannel import PASSWORD, USER, start_kannel

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

ALL_DAY = {"send_opens": time(0, 0), "send_closes": time(23, 59, 59, 999999)}


async def with_receiver(fn):
    server = await start_receiver()
    try:
        return await fn(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/sms")
    finally:
        server.close()


@pytest.fixture(scope="module")
def kannel():
    # smsbox's catch-all service posts inbound messages to this URL; the probes
    # use their own receiver for delivery reports
    k = start_kannel("http://127.0.0.1:9/unused")
    yield k
    k.stop()


def test_kannel_delivery_report_arrives(kannel):
    async def go(url):
        t = sms.SmsTarget(to="13800000000", callback_url=url, **ALL_DAY,
                          kannel=sms.KannelGateway(url=kannel.url, username=USER, password=PASSWORD))
        return await sms.probe(t, 5)
    r = asyncio.run(with_receiver(go))
    assert r.ok, r.error
    assert r.phases["submit"] > 0 and r.phases["deliver"] > 0 and re.fullmatch(r"[0-9a-f]{32}", r.detail["nonce"])


def test_kannel_wrong_password_and_stopped_gateway(kannel):
    async def go(url):
        t = sms.SmsTarget(to="13800000000", callback_url=url, **ALL_DAY,
                          kannel=sms.KannelGateway(url=kannel.url, username=USER, password="wrong"))
        return await sms.probe(t, 5)
    r = asyncio.run(with_receiver(go))
    assert (r.ok, r.error) == (False, "auth_failed")


def test_stopped_kannel_is_a_failure():
    k = start_kannel("http://127.0.0.1:9/unused")
    k.stop()

    async def go(url):
        t = sms.SmsTarget(to="13800000000", callback_url=url, **ALL_DAY,
                          kannel=sms.KannelGateway(url=k.url, username=USER, password=PASSWORD))
        return await sms.probe(t, 3)
    r = asyncio.run(with_receiver(go))
    assert (r.ok, r.error) == (False, "refused")


class Gateway:
    """A generic HTTP SMS gateway: accepts, refuses bad words, and calls back."""

    def __init__(self, deliver: bool = True):
        gateway = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                gateway.seen.append(q)
                if "forbidden" in q["text"]:
                    body = b'{"code": 40, "msg": "content rejected"}'
                else:
                    body = b'{"code": 0, "msg": "queued"}'
                    if gateway.deliver:
                        threading.Thread(target=httpx.get, args=(q["callback"],), daemon=True).start()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.deliver, self.seen = deliver, []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send?to={{to}}&text={{text}}&callback={{callback}}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _http_target(gw, url, text="slawatch delivery check"):
    return sms.SmsTarget(to="13900000000", callback_url=url, text=text, **ALL_DAY,
                         http=sms.HttpGateway(url_template=gw.url, success_pattern=r'"code": 0',
                                              rejected_pattern=r'"code": 40'))


def test_http_gateway_delivered_rejected_and_lost():
    gw, silent = Gateway(), Gateway(deliver=False)
    try:
        ok = asyncio.run(with_receiver(lambda url: sms.probe(_http_target(gw, url), 3)))
        assert ok.ok, ok.error
        texts = [q["text"] for q in gw.seen]
        assert len(set(texts)) == len(texts) and all(re.search(r"slw-[0-9a-f]{32}$", t) for t in texts)
        rejected = asyncio.run(with_receiver(lambda url: sms.probe(_http_target(gw, url, "forbidden words"), 3)))
        assert (rejected.ok, rejected.error, rejected.rejected) == (False, "rejected:content", True)
        lost = asyncio.run(with_receiver(lambda url: sms.probe(_http_target(silent, url), 1)))
        assert (lost.ok, lost.error, lost.rejected) == (False, "not_delivered", False)
    finally:
        gw.stop()
        silent.stop()


def test_never_sends_outside_the_window():
    gw = Gateway()
    try:
        closed = {"send_opens": time(0, 0), "send_closes": time(0, 0)}  # an empty window: always outside
        t = _http_target(gw, "http://127.0.0.1:9/").model_copy(update=closed)
        r = asyncio.run(sms.probe(t, 1))
        assert (r.ok, r.skipped, r.error) == (False, True, "skipped:outside_send_window")
        assert gw.seen == []
    finally:
        gw.stop()


def test_window_is_read_in_the_targets_zone():
    from datetime import datetime, timezone
    t = sms.SmsTarget(to="1", callback_url="http://x/", http=sms.HttpGateway(url_template="http://x/{to}"))
    at = lambda h, m: datetime(2026, 10, 12, h, m, tzinfo=timezone.utc)
    assert not sms.in_window(t, at(22, 59))   # 06:59 local
    assert sms.in_window(t, at(23, 0))        # 07:00
    assert sms.in_window(t, at(14, 29))       # 22:29
    assert not sms.in_window(t, at(14, 30))   # 22:30


def test_inbound_copy_counts_as_delivered():
    from probes.sms_delivery import Deliveries

    async def go():
        d = Deliveries()
        fut = d.expect("0123456789abcdef0123456789abcdef", ["127.0.0.1"])
        copy = {"from": "139", "text": "slawatch check slw-0123456789abcdef0123456789abcdef"}
        assert not d.report_params({"text": "unrelated"}, "127.0.0.1")
        assert not d.report_params(copy, "127.0.0.9")  # the nonce, but not from the gateway
        assert not d.report_params(copy, None)
        assert d.report_params(copy, "::ffff:127.0.0.1")  # the gateway, as an IPv4-mapped address
        return await fut
    assert asyncio.run(go()) == "delivered"


def test_a_forged_report_from_elsewhere_completes_nothing():
    """The gateway is at 127.0.0.1; a report with the right nonce from 127.0.0.2
    (anyone who learnt the nonce) leaves the probe undelivered."""
    gw = Gateway()
    try:
        async def go(url):
            t = _http_target(gw, url).model_copy(update={"report_sources": ["127.0.0.2/32"]})
            return await sms.probe(t, 2)
        r = asyncio.run(with_receiver(go))  # the gateway calls back from 127.0.0.1
        assert (r.ok, r.error) == (False, "not_delivered")
    finally:
        gw.stop()
