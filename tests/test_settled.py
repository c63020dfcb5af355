"""A month time can no longer change is answered from the kept report — the same
bytes but for its ``at`` — and any write to what it was computed from is seen at
once; a month still moving is never kept."""
from datetime import datetime, timedelta, timezone

import yaml
from conftest import ROOT, service_client


def test_a_settled_month_is_kept_and_a_write_is_seen_at_once(tmp_path):
    from app.api.contracts import SETTLED

    client, _ = service_client(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    with client:
        SETTLED.kept.clear()
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
        body["customer"] = "acme"
        client.post("/v1/contracts", json=body)
        started = datetime(2026, 10, 3, 1, 0, tzinfo=timezone.utc)
        iid = client.post("/v1/incidents", json={"contract_id": body["id"], "category": "mail_send_receive",
                                                 "started_at": started.isoformat()}).json()["id"]
        client.post(f"/v1/incidents/{iid}/classify", json={"attribution": "provider"})
        client.post(f"/v1/incidents/{iid}/resolve", json={"at": (started + timedelta(hours=30)).isoformat()})
        url = f"/v1/contracts/{body['id']}/credits"
        first = client.get(url, params={"period": "2026-10"})
        assert len(SETTLED.kept) == 1
        second = client.get(url, params={"period": "2026-10"})
        a, b = first.json(), second.json()
        assert a.pop("at") <= b.pop("at") and a == b and a["credit"]["amount"] == "19.35"  # 300 × 2/31
        assert second.headers["content-type"] == "application/json"
        at = "2026-11-15T00:00:00+00:00"
        assert client.get(url, params={"period": "2026-10", "at": at}).json()["at"] == "2026-11-15T08:00:00+08:00"

        client.post(f"/v1/incidents/{iid}/classify", json={"attribution": "customer"})  # a write: not the provider's
        third = client.get(url, params={"period": "2026-10"}).json()
        assert third["credit"]["amount"] == "0.00"  # seen at once, not the kept report

        client.post("/v1/incidents", json={"contract_id": body["id"], "category": "mail_send_receive",
                                           "started_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()})
        kept = len(SETTLED.kept)
        client.get(url)  # this month, an incident open: it moves with time, never kept
        assert len(SETTLED.kept) == kept
