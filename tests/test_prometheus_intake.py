"""Already on Prometheus (issue 19): Debian's Prometheus scrapes a loopback target
and evaluates an alerting rule labelled with the contract; when the target fails
the rule fires, Debian's Alertmanager sends it to ``slawatch run``'s intake, and the
incident opens on that contract at the alert's ``startsAt`` with its windows
running; Alertmanager restarted and re-sending creates no second incident; the
target back, the alert resolves and so does the incident."""
import http.server
import threading
from datetime import datetime

import httpx
import pytest
import yaml
from conftest import ROOT

from tests.peers.prom import alertmanager as start_alertmanager
from tests.peers.prom import prometheus
from tests.peers.service import slawatch_run
from tests.peers.util import free_port, wait_port, wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"site_ok 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Target:
    """A scrape target on a fixed loopback port that can go away and come back."""

    def __init__(self):
        self.port, self.server = free_port(), None

    def up(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Metrics)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        if self.server is not None:  # shutdown() of a server not serving would wait for ever
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_a_prometheus_rule_fires_through_alertmanager_and_resolves_the_incident(tmp_path):
    target, am, prom = Target(), free_port(), free_port()
    target.up()
    with slawatch_run(tmp_path) as svc:
        api = svc.api()
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        api.post("/v1/customers", json={"id": body["customer"], "name": "Demo"})
        assert api.post("/v1/contracts", json=body).status_code == 201
        (tmp_path / "am.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "slawatch", "group_by": ["alertname"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "slawatch", "webhook_configs": [{
                "url": f"{svc.base}/v1/intake/alertmanager", "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials": svc.token("intake")}}}]}]}))
        (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "sites", "rules": [{
            "alert": "SiteDown", "expr": 'up{job="site"} == 0', "for": "0s",
            "labels": {"slawatch_contract": body["id"], "slawatch_category": "server_fault"},
            "annotations": {"summary": "colo web down"}}]}]}))
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "500ms"},
            "rule_files": [str(tmp_path / "rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am}"]}]}]},
            "scrape_configs": [{"job_name": "site", "static_configs": [{"targets": [f"127.0.0.1:{target.port}"]}]}]}))

        def alertmanager():
            return start_alertmanager(tmp_path / "am.yml", tmp_path / "am", am)
        amp = alertmanager()
        pp = prometheus(tmp_path / "prometheus.yml", tmp_path / "prom", prom, "--rules.alert.resend-delay=1s")
        try:
            wait_port(am, 30)
            wait_port(prom, 30)
            up = lambda: httpx.get(f"http://127.0.0.1:{prom}/api/v1/query", params={"query": 'up{job="site"}'}
                                   ).json()["data"]["result"]
            assert wait_until(lambda: up() and up()[0]["value"][1] == "1", 60)
            incidents = lambda: [i for i in api.get("/v1/incidents").json()["items"] if i["source"] == "alert"]
            assert incidents() == []

            target.down()  # the rule fires on the next scrape and evaluation
            assert wait_until(lambda: incidents(), 60), (tmp_path / "run.log").read_text()[-2000:]
            (inc,) = incidents()
            firing = lambda: httpx.get(f"http://127.0.0.1:{am}/api/v2/alerts").json()
            (alert,) = firing()
            assert parse(inc["started_at"]) == parse(alert["startsAt"]) and inc["contract_id"] == body["id"]
            assert (inc["category"], inc["status"]) == ("server_fault", "open")
            windows = {w["window"]: w["status"] for w in api.get(f"/v1/incidents/{inc['id']}").json()["windows"]}
            assert windows["respond_1h"] == "running" and windows["resolve_1wd"] == "running"

            amp.terminate()
            amp.wait(timeout=30)
            amp = alertmanager()  # restarted: Prometheus re-sends the firing alert, Alertmanager notifies again
            wait_port(am, 30)
            assert wait_until(lambda: firing(), 30)

            target.up()
            assert wait_until(lambda: incidents()[0]["status"] == "resolved", 60)
            (inc,) = incidents()  # one incident, whatever was sent again
            assert parse(inc["resolved_at"]) > parse(inc["started_at"])
            assert {w["window"]: w["status"] for w in api.get(f"/v1/incidents/{inc['id']}").json()["windows"]
                    }["resolve_1wd"] == "met"
        finally:
            for p in (pp, amp):
                p.terminate()
                p.wait(timeout=30)
            target.down()
