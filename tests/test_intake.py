"""Alertmanager's webhook (payload version 4, shaped as its documentation shows it)
turns firing alerts into incidents on the contract their labels name and resolves
them; re-sends never duplicate; a grouped message with an unknown contract, an alert
that fired and resolved between two notifications, and the intake role's limits."""
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import yaml
from conftest import ROOT, service_client

from tests.peers.prom import alertmanager as start_alertmanager
from tests.peers.service import slawatch_run
from tests.peers.util import free_port, wait_port, wait_until


@contextmanager
def with_contract(tmp_path):
    """A service with demo-ningbo-colo stored, and an intake token's header."""
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/in.db")
    with client:
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        client.post("/v1/customers", json={"id": body["customer"], "name": "Demo"})
        assert client.post("/v1/contracts", json=body).status_code == 201
        yield client, body, {"Authorization": f"Bearer {make_token('intake')}"}, make_token


def payload(status: str, *alerts: dict) -> dict:
    return {"version": "4", "groupKey": '{}:{alertname="SiteDown"}', "truncatedAlerts": 0, "status": status,
            "receiver": "slawatch", "groupLabels": {"alertname": "SiteDown"},
            "commonLabels": {"alertname": "SiteDown"}, "commonAnnotations": {},
            "externalURL": "http://127.0.0.1:9093", "alerts": list(alerts)}


def alert(status: str, fingerprint: str, contract: str, starts: datetime, ends: datetime | None = None) -> dict:
    return {"status": status, "labels": {"alertname": "SiteDown", "instance": "127.0.0.1:8080",
                                         "slawatch_contract": contract, "slawatch_category": "server_fault"},
            "annotations": {"summary": "site down"}, "startsAt": starts.isoformat().replace("+00:00", "Z"),
            "endsAt": (ends.isoformat().replace("+00:00", "Z") if ends else "0001-01-01T00:00:00Z"),
            "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=probe_success+%3D%3D+0",
            "fingerprint": fingerprint}


def test_alerts_open_and_resolve_incidents_once(tmp_path):
    with with_contract(tmp_path) as (client, body, intake, make_token):
        t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=20)
        url = "/v1/intake/alertmanager"

        def post(doc):
            r = client.post(url, json=doc, headers=intake)
            assert r.status_code == 200, r.text
            return [(a["outcome"], a["incident_id"]) for a in r.json()["alerts"]]
        firing = payload("firing", alert("firing", "a1b2c3", body["id"], t0))
        ((outcome, iid),) = post(firing)
        assert outcome == "opened" and iid == f"alert-a1b2c3-{t0:%Y%m%dT%H%M%S}"
        assert post(firing) == [("unchanged", iid)]  # Alertmanager's repeat: no duplicate
        inc = client.get(f"/v1/incidents/{iid}").json()
        assert inc["started_at"] == t0.isoformat() and inc["source"] == "alert" and inc["status"] == "open"
        assert {w["window"] for w in inc["windows"]} >= {"respond_1h", "resolve_1wd"}

        ends = t0 + timedelta(minutes=15)
        grouped = payload("resolved", alert("resolved", "a1b2c3", body["id"], t0, ends),
                          alert("firing", "ffff01", "no-such-contract", t0))
        assert post(grouped) == [("resolved", iid), ("unknown_contract", None)]
        assert post(grouped)[0] == ("unchanged", iid)
        assert client.get(f"/v1/incidents/{iid}").json()["resolved_at"] == ends.isoformat()

        blip = alert("resolved", "0b11", body["id"], t0 + timedelta(minutes=1), t0 + timedelta(minutes=3))
        assert post(payload("resolved", blip))[0][0] == "opened_and_resolved"  # fired and resolved in between

        bad = alert("firing", "cc", body["id"], t0)
        bad["labels"]["slawatch_category"] = "renewal"
        assert post(payload("firing", bad))[0][0] == "refused"

        assert client.get("/v1/contracts", headers=intake).status_code == 403  # it posts alerts, nothing more
        assert client.post(url, json=firing, headers={"Authorization": ""}).status_code == 401
        customer = {"Authorization": f"Bearer {make_token('customer', body['customer'])}"}
        assert client.post(url, json=firing, headers=customer).status_code == 403
        r = client.post(url, json={"alerts": [{"status": "weird"}]}, headers=intake)
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"].startswith("/alerts/0/")


def test_alerts_for_unknown_contracts_are_kept_listed_and_tell_the_operator_once_per_name(tmp_path):
    from app.tickets.senders import subject

    with with_contract(tmp_path) as (client, body, intake, make_token):
        t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
        url = "/v1/intake/alertmanager"
        for doc in (payload("firing", alert("firing", "e1", "acme-mail", t0)),
                    payload("firing", alert("firing", "e1", "acme-mail", t0)),  # a re-send
                    payload("firing", alert("firing", "e2", "acme-mail", t0), alert("firing", "e3", "beta", t0))):
            assert {a["outcome"] for a in client.post(url, json=doc, headers=intake).json()["alerts"]} == \
                {"unknown_contract"}
        kept = {a["fingerprint"]: a for a in client.get("/v1/intake/unrouted").json()}
        assert set(kept) == {"e1", "e2", "e3"}
        assert (kept["e1"]["times"], kept["e1"]["contract_label"], kept["e1"]["labels"]["instance"]) == \
            (2, "acme-mail", "127.0.0.1:8080")
        tickets = [t for t in client.get("/v1/tickets").json()["items"] if t["kind"] == "unrouted_alert"]
        assert sorted(t["payload"]["contract_label"] for t in tickets) == ["acme-mail", "beta"]
        assert {(t["contract_id"], t["customer_id"], t["state"]) for t in tickets} == {(None, None, "pending")}
        assert subject({**tickets[0], "id": tickets[0]["id"]}).startswith("[slawatch] operator: alerts name no known")
        # staff only: a customer or an intake token does not list them
        customer = {"Authorization": f"Bearer {make_token('customer', body['customer'])}"}
        assert client.get("/v1/intake/unrouted", headers=customer).status_code == 403
        assert client.get("/v1/intake/unrouted", headers=intake).status_code == 403
        assert all(t["kind"] != "unrouted_alert" for t in client.get("/v1/tickets", headers=customer).json()["items"])
        # an alert's labels are bounded: what is kept cannot grow without limit
        huge = alert("firing", "e4", "x", t0)
        huge["labels"] = {f"l{i}": "v" for i in range(100)}
        r = client.post(url, json=payload("firing", huge), headers=intake)
        assert r.status_code == 422 and "/alerts/0/labels" in r.text


@pytest.mark.peers
def test_real_alertmanager_sends_fired_and_resolved_alerts_and_a_restart_duplicates_nothing(tmp_path):
    """Debian's Alertmanager on loopback, its webhook receiver pointed at a running
    ``slawatch run`` with an intake token (``http_config.authorization``)."""
    am = free_port()
    with slawatch_run(tmp_path) as svc:
        (tmp_path / "am.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "slawatch", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s",
                      "repeat_interval": "1h"},
            "receivers": [{"name": "slawatch", "webhook_configs": [{
                "url": f"{svc.base}/v1/intake/alertmanager", "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials": svc.token("intake")}}}]}]}))

        def alertmanager():
            return start_alertmanager(tmp_path / "am.yml", tmp_path / "am", am)
        amp = None
        try:
            api = svc.api()
            body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
            api.post("/v1/customers", json={"id": body["customer"], "name": "Demo"})
            assert api.post("/v1/contracts", json=body).status_code == 201
            amp = alertmanager()
            wait_port(am, 30)
            t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
            fire = [{"labels": {"alertname": "SiteDown", "instance": "127.0.0.1:9", "slawatch_contract": body["id"],
                                "slawatch_category": "server_fault"},
                     "annotations": {"summary": "site down"}, "startsAt": t0.isoformat()}]
            assert httpx.post(f"http://127.0.0.1:{am}/api/v2/alerts", json=fire).status_code == 200
            incidents = lambda: [i for i in api.get("/v1/incidents").json()["items"] if i["source"] == "alert"]
            assert wait_until(lambda: incidents(), 30)
            (inc,) = incidents()
            assert inc["started_at"] == t0.isoformat() and inc["status"] == "open" and inc["contract_id"] == body["id"]

            amp.terminate()
            amp.wait(timeout=30)
            amp = alertmanager()  # restarted: Prometheus sends the alert again, Alertmanager notifies again
            wait_port(am, 30)
            assert httpx.post(f"http://127.0.0.1:{am}/api/v2/alerts", json=fire).status_code == 200
            ended = t0 + timedelta(minutes=4)
            resolved = [{**fire[0], "endsAt": ended.isoformat()}]
            assert httpx.post(f"http://127.0.0.1:{am}/api/v2/alerts", json=resolved).status_code == 200
            assert wait_until(lambda: incidents()[0]["status"] == "resolved", 30)
            (inc,) = incidents()  # one incident, whatever was sent twice
            assert inc["resolved_at"] == ended.isoformat()
        finally:
            if amp is not None:
                amp.terminate()
                amp.wait(timeout=30)


def test_grafana_alerting_webhook_opens_and_resolves(tmp_path):
    import json

    with with_contract(tmp_path) as (client, body, intake, _):
        doc = json.loads((ROOT / "tests/fixtures/grafana_webhook.json").read_text())
        r = client.post("/v1/intake/grafana", json=doc, headers=intake)
        assert r.status_code == 200 and r.json()["alerts"][0]["outcome"] == "opened"
        iid = r.json()["alerts"][0]["incident_id"]
        assert iid == "alert-57c6d9296de2ad39-20261130T010000"
        doc["alerts"][0].update(status="resolved", endsAt="2026-11-30T01:20:00Z")
        doc.update(status="resolved", title="[RESOLVED] SiteDown NOC", state="ok")
        r = client.post("/v1/intake/grafana", json=doc, headers=intake)
        assert r.json()["alerts"][0]["outcome"] == "resolved"
        assert client.get(f"/v1/incidents/{iid}").json()["resolved_at"] == "2026-11-30T01:20:00+00:00"


def test_uptime_kuma_webhook_opens_one_incident_per_outage_and_resolves_it(tmp_path):
    import json

    with with_contract(tmp_path) as (client, body, intake, _):
        down = json.loads((ROOT / "tests/fixtures/kuma_down.json").read_text())

        def post(doc, **params):
            r = client.post("/v1/intake/kuma", json=doc, headers=intake, params=params)
            assert r.status_code == 200, r.text
            return [(a["outcome"], a["incident_id"]) for a in r.json()["alerts"]]
        ((outcome, iid),) = post(down)
        assert outcome == "opened" and iid == "alert-kuma29-20261130T010000"  # the monitor's tag names the contract
        again = {**down, "heartbeat": {**down["heartbeat"], "time": "2026-11-30 01:05:00.100"}}
        assert post(again) == [("unchanged", iid)]  # Kuma's re-send while it stays down: the same outage
        up = {**down, "heartbeat": {**down["heartbeat"], "status": 1, "time": "2026-11-30 01:20:00.000"}}
        assert post(up) == [("resolved", iid)]
        assert client.get(f"/v1/incidents/{iid}").json()["resolved_at"] == "2026-11-30T01:20:00+00:00"
        assert post(up) == []  # up again, nothing open
        assert post({"msg": "Uptime Kuma test"}) == []  # the "test" notification: no heartbeat
        untagged = {**down, "monitor": {**down["monitor"], "id": 30, "tags": []}}
        ((outcome, _),) = post(untagged, contract=body["id"], category="server_fault")  # ?contract= on the URL
        assert outcome == "opened"
        assert post({**untagged, "monitor": {**untagged["monitor"], "id": 31}})[0][0] == "unknown_contract"


def test_alerts_without_slawatch_labels_are_routed_by_sla_rules_intake_yaml(tmp_path):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "sla_rules", rules)
    (rules / "intake.yaml").write_text(yaml.safe_dump({"routes": [
        {"match": {"job": "colo-web"}, "match_re": {"instance": r"10\.0\.0\.\d+:80"},
         "contract": "demo-ningbo-colo", "category": "server_fault"}]}))
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/r.db", rules_dir=rules)
    with client:
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        client.post("/v1/customers", json={"id": body["customer"], "name": "Demo"})
        assert client.post("/v1/contracts", json=body).status_code == 201
        intake = {"Authorization": f"Bearer {make_token('intake')}"}
        t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
        routed = alert("firing", "r1", "", t0)
        routed["labels"] = {"alertname": "SiteDown", "job": "colo-web", "instance": "10.0.0.7:80"}
        other = {**routed, "fingerprint": "r2", "labels": {**routed["labels"], "instance": "10.0.1.7:80"}}
        r = client.post("/v1/intake/alertmanager", json=payload("firing", routed, other), headers=intake)
        (first, second) = r.json()["alerts"]
        assert (first["outcome"], first["contract_id"]) == ("opened", "demo-ningbo-colo")
        assert client.get(f"/v1/incidents/{first['incident_id']}").json()["category"] == "server_fault"
        assert second["outcome"] == "unknown_contract"  # no route matches: named, not guessed
