"""Server probes against real listeners on loopback: TCP, HTTP(S), TLS, DNS, ICMP.
Certificates come from a CA made in the test (trustme); no fixed ports."""
import asyncio
import subprocess
import sys
import time

import pytest
from conftest import ROOT, cert_expiring_in, server_context
from dnslib.server import DNSServer
from dnslib.zoneresolver import ZoneResolver

from probes import PROBES, TARGETS
from probes.dns import DnsTarget
from probes.http import HttpTarget
from probes.icmp import IcmpTarget
from probes.net import TlsOptions
from probes.tcp import TcpTarget
from probes.tls import TlsTarget
from tests.peers.web import Web

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


def run(proto, target, timeout=3.0):
    return asyncio.run(PROBES[proto](target, timeout))


@pytest.fixture(scope="module")
def https(localhost_cert):
    w = Web(server_context(localhost_cert))
    yield w
    w.stop()


def test_registry_is_one_signature_for_every_protocol():
    assert set(PROBES) == set(TARGETS) == {"icmp", "tcp", "http", "tls", "dns", "grpc", "smtp", "imap", "pop3",
                                           "unix", "websocket", "mail_roundtrip", "sms"}
    for name, fn in PROBES.items():
        assert fn.__module__ == f"probes.{name}" and fn.__name__ == "probe"


# --- TCP ------------------------------------------------------------------------

def test_tcp_connect_ok_and_refused(web, closed_port):
    ok = run("tcp", TcpTarget(host="127.0.0.1", port=web.port))
    assert ok.ok and ok.error is None and ok.phases["connect"] > 0 and ok.started_at.tzinfo is not None
    bad = run("tcp", TcpTarget(host="127.0.0.1", port=closed_port))
    assert (bad.ok, bad.error) == (False, "refused")


def test_tcp_send_expect(web):
    target = TcpTarget(host="127.0.0.1", port=web.port, send="GET /ok HTTP/1.0\r\n\r\n", expect=r"HTTP/1\.\d 200")
    assert run("tcp", target).ok
    miss = run("tcp", target.model_copy(update={"expect": "SSH-2.0"}))
    assert (miss.ok, miss.error) == (False, "expect:no_match")


def test_tcp_with_tls(https, ca_file):
    r = run("tcp", TcpTarget(host="127.0.0.1", port=https.port, tls=TlsOptions(ca_file=ca_file)))
    assert r.ok and "tls" in r.phases


# --- HTTP -----------------------------------------------------------------------

def test_http_ok_status_body_and_redirect(web):
    base = f"http://127.0.0.1:{web.port}"
    ok = run("http", HttpTarget(url=f"{base}/ok", body_regex="all is well"))
    assert ok.ok and ok.detail["status"] == 200
    assert set(ok.phases) >= {"connect", "processing", "transfer"}
    down = run("http", HttpTarget(url=f"{base}/down"))
    assert (down.ok, down.error, down.detail["status"]) == (False, "bad_status:503", 503)
    assert run("http", HttpTarget(url=f"{base}/down", valid_status=[503])).ok
    body = run("http", HttpTarget(url=f"{base}/ok", body_regex="broken"))
    assert (body.ok, body.error) == (False, "body:no_match")
    hop = run("http", HttpTarget(url=f"{base}/redirect"))
    assert hop.ok and hop.detail["redirects"] == 1 and hop.detail["url"].endswith("/ok")
    stay = run("http", HttpTarget(url=f"{base}/redirect", follow_redirects=False))
    assert (stay.ok, stay.error) == (False, "bad_status:302")
    loop = run("http", HttpTarget(url=f"{base}/loop", max_redirects=3))
    assert (loop.ok, loop.error) == (False, "http:too_many_redirects")
    chunked = run("http", HttpTarget(url=f"{base}/chunked", body_regex="hello chunked world"))
    assert chunked.ok


def test_https_verifies_with_the_test_ca(https, ca_file):
    url = f"https://localhost:{https.port}/ok"
    ok = run("http", HttpTarget(url=url, tls=TlsOptions(ca_file=ca_file)))
    assert ok.ok and ok.detail["cert_not_after"] and "tls" in ok.phases and "resolve" in ok.phases
    untrusted = run("http", HttpTarget(url=url))
    assert (untrusted.ok, untrusted.error) == (False, "tls:untrusted")
    assert run("http", HttpTarget(url=url, tls=TlsOptions(verify=False))).ok


def test_tls_expired_and_wrong_host(ca, ca_file):
    expired = Web(server_context(cert_expiring_in(ca, -1)))
    wrong = Web(server_context(ca.issue_cert("other.example")))
    try:
        r = run("tls", TlsTarget(host="127.0.0.1", port=expired.port, tls=TlsOptions(ca_file=ca_file)))
        assert (r.ok, r.error) == (False, "tls:expired")
        r = run("tls", TlsTarget(host="localhost", port=wrong.port, tls=TlsOptions(ca_file=ca_file)))
        assert (r.ok, r.error) == (False, "tls:hostname")
        r = run("http", HttpTarget(url=f"https://localhost:{wrong.port}/ok", tls=TlsOptions(ca_file=ca_file)))
        assert (r.ok, r.error) == (False, "tls:hostname")
    finally:
        expired.stop()
        wrong.stop()


def test_certificate_expiring_soon(ca, ca_file):
    soon = Web(server_context(cert_expiring_in(ca, 3.5)))
    try:
        r = run("tls", TlsTarget(host="127.0.0.1", port=soon.port, tls=TlsOptions(ca_file=ca_file, min_days_left=14)))
        assert (r.ok, r.error) == (False, "cert_expires_in:3d")
        assert 3 < r.detail["cert_days_left"] < 4
        r = run("http", HttpTarget(url=f"https://127.0.0.1:{soon.port}/ok",
                                   tls=TlsOptions(ca_file=ca_file, min_days_left=2)))
        assert r.ok
    finally:
        soon.stop()


# --- DNS ------------------------------------------------------------------------

ZONE = """
example.test. 60 IN A 127.0.0.10
example.test. 60 IN MX 10 mx.example.test.
mx.example.test. 60 IN A 127.0.0.11
"""


@pytest.fixture(scope="module")
def dns_server():
    from tests.peers.util import free_port
    port = free_port()
    server = DNSServer(ZoneResolver(ZONE), address="127.0.0.1", port=port)
    server.start_thread()
    yield port
    server.stop()


def test_dns_answers(dns_server):
    a = run("dns", DnsTarget(server="127.0.0.1", port=dns_server, name="example.test", expect=["127.0.0.10"]))
    assert a.ok and a.detail["answers"] == ["127.0.0.10"]
    mx = run("dns", DnsTarget(server="127.0.0.1", port=dns_server, name="example.test", type="MX",
                              expect=["10 mx.example.test."]))
    assert mx.ok
    wrong = run("dns", DnsTarget(server="127.0.0.1", port=dns_server, name="example.test", expect=["127.0.0.99"]))
    assert (wrong.ok, wrong.error) == (False, "dns:unexpected_answer")
    missing = run("dns", DnsTarget(server="127.0.0.1", port=dns_server, name="nope.example.test"))
    assert (missing.ok, missing.error) == (False, "dns:nxdomain")


def test_dns_bad_record_type_is_a_config_error():
    with pytest.raises(ValueError, match="unknown record type 'MXX'"):
        DnsTarget(server="127.0.0.1", name="x", type="MXX")


# --- ICMP -----------------------------------------------------------------------

def test_icmp_loopback_and_a_host_that_went_away(netns_host):
    assert run("icmp", IcmpTarget(host="127.0.0.1")).ok
    address, set_up = netns_host
    assert run("icmp", IcmpTarget(host=address)).ok
    # blackbox's dont_fragment: 2,000 bytes fit the veth's 1,500-byte MTU only in fragments
    assert run("icmp", IcmpTarget(host=address, payload_size=2000)).ok
    big = run("icmp", IcmpTarget(host=address, payload_size=2000, dont_fragment=True))
    assert (big.ok, big.error) == (False, "os:EMSGSIZE")
    assert run("icmp", IcmpTarget(host=address, payload_size=1000, dont_fragment=True)).ok
    assert run("icmp", IcmpTarget(host=address, payload_size=2000)).ok  # the shared socket's setting put back
    set_up(False)
    try:
        gone = run("icmp", IcmpTarget(host=address), timeout=1.0)
        assert (gone.ok, gone.error) in ((False, "timeout:rtt"), (False, "unreachable"))
    finally:
        set_up(True)


# --- every protocol fails within timeout + 0.5 s on a listener that never answers -----

SILENT = {
    "tcp": lambda p: TcpTarget(host="127.0.0.1", port=p, expect="hello"),
    "http": lambda p: HttpTarget(url=f"http://127.0.0.1:{p}/"),
    "tls": lambda p: TlsTarget(host="127.0.0.1", port=p),
    "smtp": lambda p: TARGETS["smtp"](host="127.0.0.1", port=p),
    "imap": lambda p: TARGETS["imap"](host="127.0.0.1", port=p, username="a", password="b"),
    "pop3": lambda p: TARGETS["pop3"](host="127.0.0.1", port=p, username="a", password="b"),
    "mail_roundtrip": lambda p: TARGETS["mail_roundtrip"](
        smtp={"host": "127.0.0.1", "port": p}, mail_from="a@x", rcpt_to="b@x",
        pop3={"host": "127.0.0.1", "port": p, "username": "a", "password": "b"}),
    "sms": lambda p: TARGETS["sms"](to="1", callback_url="http://127.0.0.1:9/", send_opens="00:00",
                                    send_closes="23:59:59", http={"url_template": f"http://127.0.0.1:{p}/send?to={{to}}"}),
}


@pytest.mark.parametrize("proto", sorted(SILENT))
def test_silent_listener_fails_within_timeout(proto, silent_listener):
    t0 = time.monotonic()
    r = run(proto, SILENT[proto](silent_listener), timeout=1.0)
    took = time.monotonic() - t0
    # a mail round trip names its leg first (smtp:timeout:…)
    assert not r.ok and r.error.removeprefix("smtp:").startswith("timeout:"), r.error
    assert took < 1.5


def test_silent_dns_server_fails_within_timeout():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        t0 = time.monotonic()
        r = run("dns", DnsTarget(server="127.0.0.1", port=s.getsockname()[1], name="example.test"), timeout=1.0)
        assert not r.ok and r.error.startswith("timeout") and time.monotonic() - t0 < 1.5
    finally:
        s.close()


# --- slawatch probe URL ---------------------------------------------------------------

def test_cli_probe_exit_codes(web, closed_port):
    ok = subprocess.run([sys.executable, "-m", "app.cli", "probe", f"http://127.0.0.1:{web.port}/ok"],
                        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ok.returncode == 0 and ": ok in " in ok.stdout and "status: 200" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "app.cli", "probe", f"tcp://127.0.0.1:{closed_port}", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 1
    import json
    assert json.loads(bad.stdout)["error"] == "refused"


def test_unix_socket_dialogue_and_its_policy(tmp_path):
    """blackbox's unix prober: the tcp dialogue over a socket path; under /probe's policy
    only a path the allow list names."""
    import socketserver
    import threading

    from probes.policy import POLICY, AddressPolicy
    from probes.series import render
    from probes.unix import PROBER, UnixTarget

    class Banner(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 mail.example ESMTP ready\r\n")
            if self.rfile.readline().startswith(b"EHLO prober"):
                self.wfile.write(b"250 mail.example\r\n")

    path = str(tmp_path / "app.sock")
    server = socketserver.ThreadingUnixStreamServer(path, Banner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    steps = [{"expect": "^220 ([^ ]+)", "send": "EHLO prober", "labels": [{"name": "host", "value": "${1}"}]},
             {"expect": "^250 "}]
    try:
        ok = run("unix", UnixTarget(path=path, query_response=steps))
        assert ok.ok and ok.detail["_expect_info"] == [{"host": "mail.example"}]
        assert b'probe_expect_info{host="mail.example"} 1.0' in render(PROBER.series(ok))
        # the server answers EHLO and closes: an expectation never met by then is the regex's failure
        bad = run("unix", UnixTarget(path=path, query_response=[steps[0], {"expect": "^554"}]))
        assert (bad.ok, bad.error) == (False, "regex:expect")
        assert b"probe_failed_due_to_regex 1.0" in render(PROBER.series(bad))
        # one still waiting for the connection to say more is the timeout's, as blackbox's scanner's
        slow = run("unix", UnixTarget(path=path, query_response=[{"expect": "^554"}]), timeout=0.5)
        assert (slow.error, b"probe_failed_due_to_regex 0.0" in render(PROBER.series(slow))) == ("timeout:expect", True)
        assert run("unix", UnixTarget(path=str(tmp_path / "none.sock"))).error == "os:ENOENT"

        async def under(policy):
            token = POLICY.set(policy)
            try:
                return await PROBES["unix"](UnixTarget(path=path), 3.0)
            finally:
                POLICY.reset(token)
        assert asyncio.run(under(AddressPolicy([]))).error == "denied:path"  # none by default
        assert asyncio.run(under(AddressPolicy(["10.0.0.0/8"]))).error == "denied:path"
        assert asyncio.run(under(AddressPolicy([path]))).ok
        assert AddressPolicy([path]).permits("192.0.2.1")  # a path alone restricts no address
    finally:
        server.shutdown()
        server.server_close()


def test_websocket_upgrade_and_dialogue(tmp_path):
    """blackbox's websocket prober against a real WebSocket server (the websockets library's)."""
    import threading

    from websockets.asyncio.server import serve
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    from app.probing.modules import build_target, load_modules
    from probes.series import render
    from probes.websocket import PROBER

    ready, stop = threading.Event(), None
    port = {}

    def guard(connection, request):
        if request.headers.get("Authorization") != "Bearer tok-9" or request.headers.get("X-Tenant") != "acme":
            return Response(401, "Unauthorized", Headers(), b"no token\n")
        return None

    async def dialogue(ws):
        await ws.send("hello 42")
        if await ws.recv() == "ack 42":
            await ws.send("ok")

    def server():
        async def main():
            nonlocal stop
            stop = asyncio.get_running_loop().create_future()
            async with serve(dialogue, "127.0.0.1", 0, process_request=guard) as s:
                port["n"] = s.sockets[0].getsockname()[1]
                ready.set()
                await stop
        asyncio.run(main())

    thread = threading.Thread(target=server, daemon=True)
    thread.start()
    assert ready.wait(10)
    (tmp_path / "m.yml").write_text("""modules:
  ws:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      http_config:
        bearer_token: tok-9
      headers:
        X-Tenant:
          values: [acme]
      query_response:
        - expect: "hello ([0-9]+)"
          send: "ack ${1}"
        - expect: "^ok$"
  ws_wrong:
    prober: websocket
    websocket:
      http_config:
        bearer_token: tok-9
      headers:
        X-Tenant: {values: [acme]}
      query_response:
        - expect: "^bye"
  ws_anonymous:
    prober: websocket
""")
    modules = load_modules(tmp_path / "m.yml")
    url = f"ws://127.0.0.1:{port['n']}/feed"
    try:
        ok = run("websocket", build_target(modules["ws"], url))
        text = render(PROBER.series(ok))
        assert ok.ok, ok.error
        for line in (b"probe_websocket_status_code 101.0", b"probe_websocket_connection_upgraded 1.0",
                     b"probe_websocket_failed_due_to_regex 0.0", b'probe_websocket_duration_seconds{phase="transfer"}'):
            assert line in text
        wrong = run("websocket", build_target(modules["ws_wrong"], url))
        assert (wrong.error, b"probe_websocket_failed_due_to_regex 1.0" in render(PROBER.series(wrong))) == \
            ("regex:expect", True)
        anonymous = run("websocket", build_target(modules["ws_anonymous"], url))
        assert anonymous.error == "bad_status:401"
        assert b"probe_websocket_status_code 401.0" in render(PROBER.series(anonymous))
        assert b"probe_websocket_connection_upgraded 0.0" in render(PROBER.series(anonymous))
    finally:
        stop.get_loop().call_soon_threadsafe(stop.set_result, None)
        thread.join(10)


def test_cel_over_a_json_body(tmp_path, web):
    """blackbox's fail_if_body_json_(not_)matches_cel: the JSON body as ``body``."""
    from app.probing.modules import build_target, load_modules
    from probes.http import PROBER
    from probes.series import render

    (tmp_path / "m.yml").write_text("""modules:
  healthy:
    prober: http
    http:
      fail_if_body_json_not_matches_cel: 'body.status == "ok" && size(body.items) >= 3'
      fail_if_body_json_matches_cel: 'body.status == "down"'
  too_many:
    prober: http
    http:
      fail_if_body_json_matches_cel: 'size(body.items) > 2'
  plain:
    prober: http
""")
    modules = load_modules(tmp_path / "m.yml")
    json_url, text_url = f"http://127.0.0.1:{web.port}/status.json", f"http://127.0.0.1:{web.port}/ok"
    ok = run("http", build_target(modules["healthy"], json_url))
    assert ok.ok and b"probe_failed_due_to_cel 0.0" in render(PROBER.series(ok))
    bad = run("http", build_target(modules["too_many"], json_url))
    assert bad.error == "cel:matches" and b"probe_failed_due_to_cel 1.0" in render(PROBER.series(bad))
    assert run("http", build_target(modules["healthy"], text_url)).error == "cel:not_json_or_bool"
    plain = run("http", build_target(modules["plain"], json_url))
    assert plain.ok and b"probe_failed_due_to_cel" not in render(PROBER.series(plain))  # only where configured
