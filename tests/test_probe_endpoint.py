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
from tests.peers.util import free_port, wait_port


def metric(text: str, name: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(name + " ") or x.startswith(name + "{"))
    return float(line.rsplit(" ", 1)[1])


def test_probe_success_and_failure(client, web, closed_port):
    ok = client.get("/probe", params={"module": "http_2xx", "target": f"127.0.0.1:{web.port}/ok"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
    assert metric(ok.text, "probe_success") == 1 and metric(ok.text, "probe_http_status_code") == 200
    assert 'probe_phase_duration_seconds{phase="connect"}' in ok.text
    bad = client.get("/probe", params={"module": "tcp_connect", "target": f"127.0.0.1:{closed_port}"})
    assert metric(bad.text, "probe_success") == 0 and 'probe_failed_due_to{error="refused"} 1.0' in bad.text


def test_bad_module_or_target_is_a_400(client):
    r = client.get("/probe", params={"module": "nope", "target": "x"})
    assert r.status_code == 400 and "unknown module 'nope'" in r.json()["detail"]
    r = client.get("/probe", params={"module": "tcp_connect", "target": "127.0.0.1"})
    assert r.status_code == 400 and r.json()["detail"] == "target '127.0.0.1': port: Field required"
    assert client.get("/probe", params={"target": "x"}).status_code == 422


def test_modules_file_errors_name_file_and_line(tmp_path):
    f = tmp_path / "modules.yml"
    f.write_text("modules:\n  ftp_check:\n    prober: ftp\n")
    with pytest.raises(RulesError) as e:
        load_modules(f)
    assert str(e.value) == (f"{f}:3: modules.ftp_check.prober: unknown prober 'ftp' "
                            "(known: dns, http, icmp, imap, pop3, smtp, tcp, tls)")
    f.write_text("modules:\n  x:\n    prober: tcp\n    timout: 5s\n")
    with pytest.raises(RulesError, match=r":4: modules.x.timout: unknown field"):
        load_modules(f)


def test_real_prometheus_scrapes_slawatch_like_blackbox_exporter(web, tmp_path):
    port, prom_port = free_port(), free_port()
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db"}
    token = subprocess.run([sys.executable, "-m", "app.cli", "tokens", "create", "--role", "scrape"], cwd=ROOT,
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    (tmp_path / "scrape-token").write_text(token)
    app = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    authorization:
      credentials_file: {tmp_path / "scrape-token"}
    params:
      module: [http_2xx]
    static_configs:
      - targets: ["127.0.0.1:{web.port}/ok", "127.0.0.1:1"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:{port}
""")
    prom = subprocess.Popen(["/usr/bin/prometheus", f"--config.file={tmp_path}/prometheus.yml",
                             f"--storage.tsdb.path={tmp_path}/data", f"--web.listen-address=127.0.0.1:{prom_port}",
                             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
