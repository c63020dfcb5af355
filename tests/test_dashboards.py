"""The alerting rules parse with the real promtool, and name metrics slawatch exposes."""
import re
import subprocess

import pytest
from conftest import ROOT

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

ALERTS = ROOT / "dashboards" / "alerts.yml"


def test_promtool_checks_the_alert_rules():
    res = subprocess.run(["/usr/bin/promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 9 rules found" in res.stdout + res.stderr


def test_promtool_rule_unit_tests():
    """Each calendar/evaluation alert fires when it should and stays quiet before."""
    res = subprocess.run(["/usr/bin/promtool", "test", "rules", str(ROOT / "tests" / "alerts_test.yml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "SUCCESS" in res.stdout, res.stdout + res.stderr


def test_alerts_use_metrics_that_exist():
    used = set(re.findall(r"\bslawatch_[a-z_]+", ALERTS.read_text()))
    exposed = set()
    for path in (ROOT / "app" / "metrics.py").read_text(), :
        exposed |= set(re.findall(r"\b(slawatch_[a-z_]+)\b", path))
    assert used <= exposed, used - exposed


def expressions(dashboard: str) -> list[str]:
    import json
    d = json.loads((ROOT / "dashboards" / dashboard).read_text())
    return [t["expr"] for p in d["panels"] for t in p["targets"]]


def test_dashboards_are_grafana_10_with_provisioning():
    import json

    import yaml
    for name in ("noc-overview.json", "contract-detail.json"):
        d = json.loads((ROOT / "dashboards" / name).read_text())
        assert d["schemaVersion"] >= 36 and d["uid"].startswith("slawatch") and d["panels"]
        assert all(t["expr"] for p in d["panels"] for t in p["targets"])
    ds = yaml.safe_load((ROOT / "dashboards/provisioning/datasources/prometheus.yml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus"
    prov = yaml.safe_load((ROOT / "dashboards/provisioning/dashboards/slawatch.yml").read_text())
    assert prov["providers"][0]["type"] == "file"


def test_every_dashboard_query_runs_on_a_real_prometheus(tmp_path):
    """A running slawatch probes a healthy and a failing loopback target; a real
    Prometheus scrapes it; every PromQL expression of both dashboards must parse
    and evaluate, and the contract-detail ones for the failing target's contract
    must return data."""
    import os
    import socket
    import sys
    import time

    import httpx
    import yaml

    from tests.peers.util import free_port, wait_port

    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/d.db",
           "SLAWATCH_METRICS_REFRESH_SECONDS": "1"}
    cli = [sys.executable, "-m", "app.cli"]
    contract = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
    subprocess.run([*cli, "contracts", "import", str(ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml")],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run([*cli, "tokens", "create", "--role", "admin"], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port, prom_port = free_port(), free_port()
    scrape = subprocess.run([*cli, "tokens", "create", "--role", "scrape"], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    (tmp_path / "scrape-token").write_text(scrape)
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{ROOT / 'dashboards/alerts.yml'}"]
scrape_configs:
  - job_name: slawatch
    authorization: {{credentials_file: "{tmp_path / 'scrape-token'}"}}
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
""")
    app = subprocess.Popen([*cli, "run", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prom = subprocess.Popen(["/usr/bin/prometheus", f"--config.file={tmp_path}/prometheus.yml",
                             f"--storage.tsdb.path={tmp_path}/data", f"--web.listen-address=127.0.0.1:{prom_port}",
                             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 30)
        auth = {"Authorization": f"Bearer {token}"}
        for tid, p in (("mx-up", listener.getsockname()[1]), ("mx-down", free_port())):
            r = httpx.post(f"http://127.0.0.1:{port}/v1/targets", headers=auth, json={
                "id": tid, "contract_id": contract["id"], "protocol": "tcp",
                "config": {"host": "127.0.0.1", "port": p}, "category": "mail_send_receive",
                "interval": 1, "timeout": 0.5})
            assert r.status_code == 201, r.text

        def query(expr: str) -> dict:
            return httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/query", params={"query": expr}, timeout=10).json()

        wait_port(prom_port, 30)
        detail = [e.replace("$contract", contract["id"]) for e in expressions("contract-detail.json")]
        deadline, missing = time.monotonic() + 60, detail
        while time.monotonic() < deadline and missing:
            missing = [e for e in detail if not query(e).get("data", {}).get("result")]
            time.sleep(1)
        assert missing == [], missing
        for expr in expressions("noc-overview.json"):
            res = query(expr)
            assert res["status"] == "success", (expr, res)
        down = query('slawatch_probe_success{target="mx-down"}')["data"]["result"]
        assert down and down[0]["value"][1] == "0"
    finally:
        for p in (prom, app):
            p.terminate()
            p.wait(timeout=15)
        listener.close()


def test_probe_series_exposition_parses_and_forgets_removed_targets():
    from prometheus_client.parser import text_string_to_metric_families

    from app.metrics import ProbeMetrics
    from probes.result import Run

    pm = ProbeMetrics()
    for target, ok, loc in (("a", True, "sh"), ('b"x', False, "bj"), ("a", False, "sh")):
        run = Run()
        run.phase("connect")
        pm.observe((target, "c1", "tcp", loc), run.ok() if ok else run.fail("refused"))
    fams = {f.name: f for f in text_string_to_metric_families(pm.render())}
    success = {(s.labels["target"], s.labels["location"]): s.value for s in fams["slawatch_probe_success"].samples}
    assert success == {("a", "sh"): 0.0, ('b"x', "bj"): 0.0}
    counts = [s for s in fams["slawatch_probe_duration_seconds"].samples
              if s.name.endswith("_count") and s.labels["target"] == "a"]
    assert counts[0].value == 2
    pm.forget("a")
    assert 'target="a"' not in pm.render()
