"""The blackbox_exporter-compatible endpoint: the same query and metric names, and
a real Prometheus with a blackbox-style scrape config pointed at slawatch."""
import os
import subprocess
import sys
import time

import httpx
import pytest
from conftest import ROOT

from app.contracts.yamlfile import RulesError
from app.probing.modules import load_modules
from tests.peers.prom import probe_job, prometheus
from tests.peers.util import free_port, until, wait_port

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


def metric(text: str, name: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(name + " ") or x.startswith(name + "{"))
    return float(line.rsplit(" ", 1)[1])


def test_probe_success_and_failure(client, web, closed_port):
    ok = client.get("/probe", params={"module": "http_2xx", "target": f"127.0.0.1:{web.port}/ok"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
    assert metric(ok.text, "probe_success") == 1 and metric(ok.text, "probe_http_status_code") == 200
    assert 'probe_phase_duration_seconds{phase="connect"}' in ok.text
    # blackbox_exporter's own HTTP series, every phase present as it emits them
    for phase in ("resolve", "connect", "tls", "processing", "transfer"):
        assert f'probe_http_duration_seconds{{phase="{phase}"}}' in ok.text
    assert metric(ok.text, "probe_http_ssl") == 0 and metric(ok.text, "probe_http_redirects") == 0
    assert metric(ok.text, "probe_dns_lookup_time_seconds") == 0  # an address: nothing looked up
    redirected = client.get("/probe", params={"module": "http_2xx", "target": f"127.0.0.1:{web.port}/redirect"})
    assert metric(redirected.text, "probe_http_redirects") == 1
    bad = client.get("/probe", params={"module": "tcp_connect", "target": f"127.0.0.1:{closed_port}"})
    assert metric(bad.text, "probe_success") == 0 and 'probe_failed_due_to{error="refused"} 1.0' in bad.text


def test_bad_module_or_target_is_a_400(client):
    r = client.get("/probe", params={"module": "nope", "target": "x"})
    assert r.status_code == 400 and "unknown module 'nope'" in r.json()["detail"]
    r = client.get("/probe", params={"module": "tcp_connect", "target": "127.0.0.1"})
    assert r.status_code == 400 and r.json()["detail"] == "target '127.0.0.1': port: Field required"
    assert client.get("/probe", params={"target": "x"}).status_code == 422
    # a name IDNA cannot encode (found by schemathesis): unresolvable, not a 500
    r = client.get("/probe", params={"module": "tcp_connect", "target": "Qc\x9d\xf79\xf1:80"})
    assert r.status_code == 200 and 'probe_failed_due_to{error="resolve:failed"} 1.0' in r.text


def test_the_scrape_timeout_header_bounds_the_probe_as_blackbox_does(client):
    import socket
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)  # accepts (the kernel does), never answers
    try:
        t0 = time.monotonic()
        r = client.get("/probe", params={"module": "http_2xx", "target": f"127.0.0.1:{hang.getsockname()[1]}/"},
                       headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"})
        took = time.monotonic() - t0
        assert r.status_code == 200 and metric(r.text, "probe_success") == 0
        assert 2.4 < took < 4.5, took  # it waited, and not the module's 5 s (a deadline, not a speed)
        d = client.get("/probe", params={"module": "http_2xx", "target": f"127.0.0.1:{hang.getsockname()[1]}/",
                                         "debug": "true"}, headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"})
        assert "timeout_seconds=2.5" in d.text  # 3 s less blackbox's 0.5 s offset
    finally:
        hang.close()
    bad = client.get("/probe", params={"module": "tcp_connect", "target": "127.0.0.1:1"},
                     headers={"X-Prometheus-Scrape-Timeout-Seconds": "soon"})
    assert bad.status_code == 400 and "X-Prometheus-Scrape-Timeout-Seconds" in bad.json()["detail"]


def test_hostname_is_the_host_header_and_debug_shows_the_probe(client, web):
    params = {"module": "http_2xx", "target": f"127.0.0.1:{web.port}/vhost"}
    assert metric(client.get("/probe", params=params).text, "probe_http_status_code") == 421
    r = client.get("/probe", params={**params, "hostname": "vhost.example"})
    assert metric(r.text, "probe_success") == 1 and metric(r.text, "probe_http_status_code") == 200
    d = client.get("/probe", params={**params, "hostname": "vhost.example", "debug": "true"})
    assert d.status_code == 200 and d.headers["content-type"].startswith("text/plain")
    logs, rest = d.text.split("Metrics that would have been returned:")
    metrics, config = rest.split("Module configuration:")
    assert logs.startswith("Logs for the probe:") and "Probe succeeded" in logs and "Phase connect took" in logs
    assert metric(metrics.strip(), "probe_success") == 1
    assert "'Host': 'vhost.example'" in logs and "http_2xx:" in config and "prober: http" in config


def test_modules_file_errors_name_file_and_line(tmp_path):
    f = tmp_path / "modules.yml"
    f.write_text("modules:\n  ftp_check:\n    prober: ftp\n")
    with pytest.raises(RulesError) as e:
        load_modules(f)
    assert str(e.value) == (f"{f}:3: modules.ftp_check.prober: prober 'ftp' is not valid "
                            "(slawatch probes with: dns, grpc, http, icmp, imap, pop3, smtp, tcp, tls, unix, "
                            "websocket)")
    f.write_text("modules:\n  x:\n    prober: tcp\n    timout: 5s\n")
    with pytest.raises(RulesError, match=r":4: modules.x.timout: unknown field"):
        load_modules(f)
    # a prober's options are checked at load, not at the first scrape
    f.write_text("modules:\n  mx:\n    prober: dns\n    dns:\n      query_name: example.com\n      query_type: BOGUS\n")
    with pytest.raises(RulesError) as e:
        load_modules(f)
    assert str(e.value) == f"{f}:6: modules.mx.dns.query_type: query type 'BOGUS' is not valid"
    f.write_text("modules:\n  cert:\n    prober: tls\n    tls:\n      tls: {min_days_left: -3}\n")
    with pytest.raises(RulesError, match=r":5: modules.cert.tls.tls.min_days_left: "):
        load_modules(f)


def test_real_prometheus_scrapes_slawatch_like_blackbox_exporter(web, tmp_path):
    port, prom_port = free_port(), free_port()
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db"}
    token = subprocess.run([sys.executable, "-m", "app.cli", "tokens", "create", "--role", "scrape"], cwd=ROOT,
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    (tmp_path / "scrape-token").write_text(token)
    app = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:" + probe_job(
            "blackbox", f"127.0.0.1:{port}", [f"127.0.0.1:{web.port}/ok", "127.0.0.1:1"],
            token_file=tmp_path / "scrape-token"))
    prom = prometheus(tmp_path / "prometheus.yml", tmp_path / "data", prom_port, "--log.level=warn")
    try:
        wait_port(port, 30)
        wait_port(prom_port, 30)
        deadline, series = time.monotonic() + 30, {}
        while time.monotonic() < deadline and len(series) < 2:
            res = httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/query", params={"query": "probe_success"}).json()
            series = {r["metric"]["instance"]: r["value"][1] for r in res["data"]["result"]}
            time.sleep(0.5)
        assert series == {f"127.0.0.1:{web.port}/ok": "1", "127.0.0.1:1": "0"}
    finally:
        for p in (prom, app):
            p.terminate()
            p.wait(timeout=10)


def metric_line(text: str, prefix: str) -> list[str]:
    return [x for x in text.splitlines() if x.startswith(prefix)]


def test_probe_never_reaches_cloud_metadata_even_through_a_redirect(client, web):
    direct = client.get("/probe", params={"module": "http_2xx", "target": "169.254.169.254/latest/meta-data/"})
    assert direct.status_code == 403 and "SLAWATCH_PROBE_ALLOW" in direct.json()["detail"]
    mapped = client.get("/probe", params={"module": "tcp_connect", "target": "[::ffff:169.254.169.254]:80"})
    assert mapped.status_code == 403
    # the first hop is allowed; the redirect's connect is refused before any packet leaves
    hop = client.get("/probe", params={"module": "http_2xx", "target": f"127.0.0.1:{web.port}/to-metadata"})
    assert hop.status_code == 200
    assert metric(hop.text, "probe_success") == 0
    assert metric_line(hop.text, 'probe_failed_due_to{error="denied:address"}')


def test_probe_allow_list_and_concurrency_cap(tmp_path, silent_listener):
    import asyncio

    from conftest import service_client

    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/p.db", probe_allow="127.0.0.2/32",
                                        probe_concurrency=1)
    app, auth = client.app, {"Authorization": f"Bearer {make_token('scrape')}"}
    denied = client.get("/probe", params={"module": "tcp_connect", "target": f"127.0.0.1:{silent_listener}"},
                        headers=auth)
    assert denied.status_code == 403

    async def two_at_once():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            # the first hangs on a listener that never answers HTTP (the module's 5 s timeout)
            slow = asyncio.create_task(c.get("/probe", params={"module": "http_2xx",
                                                               "target": f"127.0.0.2:{silent_listener}"},
                                             headers=auth))
            assert await until(lambda: app.state.probe_gate.running, 5)  # the first one is running
            second = await c.get("/probe", params={"module": "tcp_connect", "target": "127.0.0.2:1"}, headers=auth)
            slow.cancel()
            return second
    import socket
    s = socket.socket()
    s.bind(("127.0.0.2", silent_listener))
    s.listen(8)
    try:
        second = asyncio.run(two_at_once())
    finally:
        s.close()
    assert second.status_code == 429 and second.headers["retry-after"] == "1"


def test_a_modules_file_slawatch_cannot_serve_stops_the_start_before_the_database(tmp_path):
    db, modules = tmp_path / "never.db", tmp_path / "blackbox.yml"
    modules.write_text("modules:\n  h3:\n    prober: http\n    http:\n      enable_http3: true\n"
                       "      enable_http2: false\n")
    env = {**os.environ, "SLAWATCH_PROBE_MODULES": str(modules),
           "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    res = subprocess.run([sys.executable, "-m", "app.cli", "run", "--port", str(free_port())], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "blackbox.yml:4: modules.h3.http: enable_http3: not supported (HTTP/3)" in res.stderr
    assert not db.exists()  # nothing migrated, nothing half-started
