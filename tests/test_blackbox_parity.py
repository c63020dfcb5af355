"""slawatch's /probe beside the real blackbox_exporter (Debian's package), on the
same loopback targets with the same modules file: the same metric names, label
sets and values (durations within a tolerance). Every difference is either fixed
or named in ALLOWED with its reason; then a real Prometheus scrapes both with
the README's scrape config and records the same series."""
from __future__ import annotations

import socket
import subprocess
import threading
import time

import httpx
import pytest
from dnslib.server import DNSServer
from dnslib.zoneresolver import ZoneResolver
from prometheus_client.parser import text_string_to_metric_families

from tests.peers.prom import probe_job, prometheus
from tests.peers.service import slawatch_run
from tests.peers.smtp_relay import start_relay
from tests.peers.util import free_port, wait_port, wait_until
from tests.peers.web import Web

pytestmark = pytest.mark.peers

BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"

MODULES = """
modules:
  http_2xx:
    prober: http
    timeout: 5s
  http_no_redirect:
    prober: http
    http:
      follow_redirects: false
  http_body_ok:
    prober: http
    http:
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp: ["all is well"]
      fail_if_header_not_matches:
        - header: Content-Length
          regexp: "^[0-9]+$"
  http_body_bad:
    prober: http
    http:
      fail_if_body_matches_regexp: ["hello"]
  https_ca:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      tls_config:
        ca_file: {ca}
  https_bad_name:
    prober: http
    http:
      tls_config:
        ca_file: {ca}
        server_name: other.example
  http_proxied:
    prober: http
    http:
      proxy_url: http://squid:s3cret@127.0.0.1:{proxy}
  https_proxied:
    prober: http
    http:
      proxy_url: http://squid:s3cret@127.0.0.1:{proxy}
      tls_config:
        ca_file: {ca}
  http_oauth2:
    prober: http
    http:
      oauth2:
        client_id: prober
        client_secret: s3cret
        token_url: http://127.0.0.1:{web}/oauth/token
        scopes: [probe, read]
  http_oauth2_wrong:
    prober: http
    http:
      oauth2:
        client_id: prober
        client_secret: wrong
        token_url: http://127.0.0.1:{web}/oauth/token
  http_proxy_refuses:
    prober: http
    http:
      proxy_url: http://squid:wrong@127.0.0.1:{proxy}
  tcp_connect:
    prober: tcp
  tcp_from:
    prober: tcp
    tcp:
      source_ip_address: 127.0.0.2
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      query_response:
        - expect: "^220 ([^ ]+)"
          send: "EHLO prober"
        - expect: "^250-STARTTLS"
        - expect: "^250 "
          send: "STARTTLS"
        - expect: "^220"
          starttls: true
        - send: "EHLO prober"
        - expect: "^250 "
          send: "QUIT"
      tls_config:
        ca_file: {ca}
        server_name: localhost
  icmp:
    prober: icmp
    timeout: 3s
  icmp_df:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
      dont_fragment: true
      payload_size: 1200
      ttl: 3
  dns_answer_ok:
    prober: dns
    dns:
      query_name: www.example.com
      query_type: A
      validate_answer_rrs:
        fail_if_not_matches_regexp: ["www.example.com.\\t.*\\tIN\\tA\\t127.0.0.1"]
  dns_answer_bad:
    prober: dns
    dns:
      query_name: www.example.com
      query_type: A
      validate_answer_rrs:
        fail_if_not_matches_regexp: ["10\\\\.9\\\\.9\\\\.9"]
  dns_empty:
    prober: dns
    dns:
      query_name: www.example.com
      query_type: MX
  grpc_plain:
    prober: grpc
    grpc:
      preferred_ip_protocol: ip4
  grpc_mail:
    prober: grpc
    grpc:
      service: mail
  grpc_unknown:
    prober: grpc
    grpc:
      service: nothing
  dns_nxdomain:
    prober: dns
    dns:
      query_name: nothing.example.com
      query_type: A
      valid_rcodes: [NXDOMAIN]
"""

ZONE = """
example.com.      300 IN SOA ns.example.com. admin.example.com. 2026120101 3600 600 86400 300
www.example.com.  300 IN A   127.0.0.1
"""

# Differences kept on purpose, each with its reason (name → why); everything else must match.
ALLOWED = {
    "probe_phase_duration_seconds": "slawatch's own phase timings, under its own name",
    "probe_failed_due_to": "slawatch's stable error code, under its own name",
}
DURATIONS = ("duration_seconds", "lookup_time_seconds")
TOLERANCE = 0.5  # seconds: two probers timing the same loopback exchange


def series(text: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def differences(bb: dict, sw: dict) -> list[str]:
    """What differs between the two exporters' answers, allowed differences left out."""
    out = []
    for key in sorted(set(bb) | set(sw)):
        name = key[0]
        if name in ALLOWED:
            continue
        if key not in sw:
            out.append(f"only blackbox: {name}{dict(key[1])}")
        elif key not in bb:
            out.append(f"only slawatch: {name}{dict(key[1])}")
        elif name.endswith(DURATIONS):
            if abs(bb[key] - sw[key]) > TOLERANCE:
                out.append(f"{name}{dict(key[1])}: blackbox {bb[key]} slawatch {sw[key]}")
        elif bb[key] != sw[key]:
            out.append(f"{name}{dict(key[1])}: blackbox {bb[key]} slawatch {sw[key]}")
    return out


def tinyproxy(tmp):
    """Debian's tinyproxy on loopback, with basic auth: a real forward proxy (HTTP and CONNECT)."""
    port = free_port()
    (tmp / "tinyproxy.conf").write_text(f"User nobody\nGroup nogroup\nPort {port}\nListen 127.0.0.1\nTimeout 30\n"
                                        "Allow 127.0.0.1\nBasicAuth squid s3cret\nLogLevel Critical\nMaxClients 50\n")
    proc = subprocess.Popen(["/usr/bin/tinyproxy", "-d", "-c", str(tmp / "tinyproxy.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 10)
    return proc, port


def grpc_server():
    """A real gRPC server (grpcio) with the standard health service: "" serving, "mail" not."""
    from concurrent import futures

    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("mail", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture(scope="module")
def world(tmp_path_factory, ca):
    tmp = tmp_path_factory.mktemp("parity")
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    modules = tmp / "blackbox.yml"
    proxy, proxy_port = tinyproxy(tmp)
    server_ctx = __import__("ssl").create_default_context(__import__("ssl").Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    plain, tls = Web(), Web(server_ctx)
    modules.write_text(MODULES.replace("{ca}", str(ca_file)).replace("{proxy}", str(proxy_port))
                       .replace("{web}", str(plain.port)))
    smtp = start_relay(None, tls_context=server_ctx)
    dns_port = free_port()
    dns = DNSServer(Zone(ZONE), address="127.0.0.1", port=dns_port)
    dns.start_thread()
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    closed = free_port()
    rpc, rpc_port = grpc_server()
    bb_port = free_port()
    bb = subprocess.Popen([BLACKBOX, f"--config.file={modules}", f"--web.listen-address=127.0.0.1:{bb_port}",
                           "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(bb_port, 30)
        with slawatch_run(tmp, PROBE_MODULES=str(modules)) as sw:
            token = sw.token("scrape")
            yield {"bb": f"http://127.0.0.1:{bb_port}", "sw": sw.base, "token": token, "modules": modules,
                   "intake": sw.token("intake"), "log": sw.log,
                   "web": plain.port, "tls": tls.port, "smtp": smtp.port, "dns": dns_port,
                   "hang": hang.getsockname()[1], "closed": closed, "grpc": rpc_port}
    finally:
        bb.terminate()
        bb.wait(timeout=10)
        for stop in (plain.stop, tls.stop, smtp.stop, dns.stop, hang.close, lambda: rpc.stop(None), proxy.terminate):
            stop()


def both(world, module: str, target: str, scrape_timeout: str = "10") -> tuple[dict, dict]:
    params = {"module": module, "target": target}
    head = {"X-Prometheus-Scrape-Timeout-Seconds": scrape_timeout}
    with httpx.Client(timeout=30) as c:
        results: dict = {}

        def ask(key, url, headers):
            results[key] = c.get(url, params=params, headers=headers)

        threads = [threading.Thread(target=ask, args=("bb", world["bb"] + "/probe", head)),
                   threading.Thread(target=ask, args=("sw", world["sw"] + "/probe",
                                                      {**head, "Authorization": f"Bearer {world['token']}"}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
    assert results["bb"].status_code == 200, results["bb"].text
    assert results["sw"].status_code == 200, results["sw"].text
    return series(results["bb"].text), series(results["sw"].text)


CASES = [  # (module, target, blackbox's probe_success)
    ("http_2xx", "127.0.0.1:{web}/ok", 1),
    ("http_2xx", "http://127.0.0.1:{web}/redirect", 1),
    ("http_no_redirect", "127.0.0.1:{web}/redirect", 0),
    ("http_2xx", "127.0.0.1:{web}/missing", 0),
    ("http_2xx", "127.0.0.1:{web}/down", 0),
    ("http_body_ok", "127.0.0.1:{web}/ok", 1),
    ("http_body_bad", "127.0.0.1:{web}/ok", 0),
    ("https_ca", "https://127.0.0.1:{tls}/ok", 1),
    ("https_bad_name", "https://127.0.0.1:{tls}/ok", 0),
    ("http_proxied", "127.0.0.1:{web}/ok", 1),
    ("http_proxied", "127.0.0.1:{web}/down", 0),
    ("https_proxied", "https://127.0.0.1:{tls}/ok", 1),
    ("http_proxy_refuses", "127.0.0.1:{web}/ok", 0),
    ("http_oauth2", "127.0.0.1:{web}/protected", 1),
    ("http_2xx", "127.0.0.1:{web}/protected", 0),
    ("http_oauth2_wrong", "127.0.0.1:{web}/protected", 0),
    ("tcp_connect", "127.0.0.1:{web}", 1),
    ("tcp_connect", "127.0.0.1:{closed}", 0),
    ("tcp_from", "127.0.0.1:{web}", 1),
    ("smtp_starttls", "127.0.0.1:{smtp}", 1),
    ("icmp", "127.0.0.1", 1),
    ("icmp_df", "127.0.0.1", 1),
    ("dns_answer_ok", "127.0.0.1:{dns}", 1),
    ("dns_answer_bad", "127.0.0.1:{dns}", 0),
    ("dns_empty", "127.0.0.1:{dns}", 1),  # an empty answer is a success to blackbox
    ("dns_nxdomain", "127.0.0.1:{dns}", 1),
    ("grpc_plain", "127.0.0.1:{grpc}", 1),
    ("grpc_mail", "127.0.0.1:{grpc}", 0),
    ("grpc_unknown", "127.0.0.1:{grpc}", 0),
    ("grpc_plain", "127.0.0.1:{closed}", 0),
    ("dns_answer_ok", "127.0.0.1:{closed}", 0),  # nothing answers
]


class Zone(ZoneResolver):
    """A name the zone has, asked for a type it has not: NOERROR with no answer (dnslib says NXDOMAIN)."""

    def resolve(self, request, handler):
        reply = super().resolve(request, handler)
        if reply.header.rcode == 3 and any(request.q.qname == name for name, _, _ in self.zone):
            reply.header.rcode = 0
        return reply


@pytest.mark.parametrize("module, target, success", CASES, ids=[f"{m}-{t.split('/')[-1]}" for m, t, _ in CASES])
def test_same_series_as_blackbox_exporter(world, module, target, success):
    bb, sw = both(world, module, target.format(**world))
    assert bb[("probe_success", ())] == success  # the case is what it claims to be
    assert differences(bb, sw) == []


def test_a_hanging_target_under_a_3s_scrape_timeout(world):
    t0 = time.monotonic()
    bb, sw = both(world, "http_2xx", f"127.0.0.1:{world['hang']}/", scrape_timeout="3")
    assert time.monotonic() - t0 < 3.5  # both answered inside Prometheus's timeout
    assert bb[("probe_success", ())] == sw[("probe_success", ())] == 0
    assert differences(bb, sw) == []


def test_what_the_served_probe_path_refuses_is_the_apis_answer(world):
    """``slawatch run`` answers a well-formed scrape ahead of the framework; anything
    else reaches the route and gets the API's own status and words."""
    url, ok = world["sw"] + "/probe", {"module": "tcp_connect", "target": f"127.0.0.1:{world['web']}"}
    scrape = {"Authorization": f"Bearer {world['token']}"}
    with httpx.Client(timeout=30) as c:
        assert series(c.get(url, params=ok, headers=scrape).text)[("probe_success", ())] == 1
        assert c.get(url, params=ok).status_code == 401
        assert c.get(url, params=ok, headers={"Authorization": f"Bearer {world['intake']}"}).status_code == 403
        r = c.get(url, params={**ok, "module": "nope"}, headers=scrape)
        assert r.status_code == 400 and "unknown module 'nope'" in r.json()["detail"]
        r = c.get(url, params=ok, headers={**scrape, "X-Prometheus-Scrape-Timeout-Seconds": "soon"})
        assert r.status_code == 400 and "X-Prometheus-Scrape-Timeout-Seconds" in r.json()["detail"]
        r = c.get(url, params={**ok, "target": "127.0.0.1"}, headers=scrape)
        assert r.status_code == 400 and r.json()["detail"] == "target '127.0.0.1': port: Field required"
        assert c.get(url, params={**ok, "target": "169.254.169.254:80"}, headers=scrape).status_code == 403
        assert c.get(url, params={**ok, "debug": "maybe"}, headers=scrape).status_code == 422
        d = c.get(url, params={**ok, "debug": "true"}, headers=scrape)
        assert d.status_code == 200 and d.text.startswith("Logs for the probe:")
        assert c.get(world["sw"] + "/healthz").status_code == 200
    # the access log: every request but a successful scrape (blackbox writes none for those)
    assert wait_until(lambda: '"GET /healthz HTTP/1.1" 200' in world["log"].read_text(), 10)
    log = world["log"].read_text()
    assert '"GET /probe?module=nope&' in log and '" 400' in log
    assert not any('" 200' in line and "GET /probe?" in line for line in log.splitlines())


def test_prometheus_records_the_same_series_from_both(world, tmp_path):
    """The README's scrape config, once per exporter; the series Prometheus stores match."""
    (tmp_path / "token").write_text(world["token"])
    targets = [f"127.0.0.1:{world['web']}/ok", f"127.0.0.1:{world['web']}/down", f"127.0.0.1:{world['closed']}/"]

    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:"
        + probe_job("bb", world["bb"].split("//")[1], targets)
        + probe_job("sw", world["sw"].split("//")[1], targets, token_file=tmp_path / "token"))
    port = free_port()
    prom = prometheus(tmp_path / "prometheus.yml", tmp_path / "data", port, "--log.level=warn")
    try:
        wait_port(port, 30)

        def stored(job: str) -> set:
            res = httpx.get(f"http://127.0.0.1:{port}/api/v1/series", params={"match[]": f'{{job="{job}"}}'}).json()
            return {(s.pop("__name__"), tuple(sorted((k, v) for k, v in s.items() if k != "job")))
                    for s in res.get("data", [])}

        assert wait_until(lambda: len({i for _, labels in stored("bb") for k, i in labels if k == "instance"}) == 3
              and len({i for _, labels in stored("sw") for k, i in labels if k == "instance"}) == 3, 30)
        bb, sw = stored("bb"), stored("sw")
        only_bb = {s for s in bb - sw if s[0] not in ALLOWED}
        only_sw = {s for s in sw - bb if s[0] not in ALLOWED}
        assert (only_bb, only_sw) == (set(), set())
    finally:
        prom.terminate()
        prom.wait(timeout=10)
