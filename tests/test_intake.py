"""Alertmanager's webhook (payload version 4, shaped as its documentation shows it)
turns firing alerts into incidents on the contract their labels name and resolves
them; re-sends never duplicate; a grouped message with an unknown contract, an alert
that fired and resolved between two notifications, and the intake role's limits."""
from datetime import datetime, timedelta, timezone

import yaml
from conftest import ROOT, service_client


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
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/i.db")
    with client:
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        client.post("/v1/customers", json={"id": body["customer"], "name": "Demo"})
        assert client.post("/v1/contracts", json=body).status_code == 201
        intake = {"Authorization": f"Bearer {make_token('intake')}"}
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
        customer = {"Authorization": f"Bearer {make_token('customer', body['customer'])}"}
        assert client.post(url, json=firing, headers=customer).status_code == 403
        r = client.post(url, json={"alerts": [{"status": "weird"}]}, headers=intake)
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"].startswith("/alerts/0/")
