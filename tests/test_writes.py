"""Every write is checked against the whole resulting case before it commits: a
change that would leave its contract impossible to evaluate answers 422 naming
why and leaves nothing behind; the contract's tickets, metrics and windows go on."""
import sqlite3
from datetime import datetime, timedelta, timezone

import yaml
from conftest import ROOT, service_client


def example(template: str, cid: str, **change) -> dict:
    body = yaml.safe_load((ROOT / f"sla_rules/contracts/examples/{template}.yaml").read_text())
    body.update(id=cid, customer="acme", **change)
    return {k: v for k, v in body.items() if v is not None}


def rows(db_file, table: str, contract_id: str) -> int:
    db = sqlite3.connect(db_file)
    try:
        return db.execute(f"SELECT count(*) FROM {table} WHERE contract_id = ?", (contract_id,)).fetchone()[0]
    finally:
        db.close()


def test_a_write_that_would_make_its_contract_unevaluable_is_refused_and_leaves_nothing(tmp_path):
    db_file = tmp_path / "w.db"
    client, _ = service_client(f"sqlite+aiosqlite:///{db_file}")
    with client:
        assert client.post("/v1/customers", json={"id": "acme", "name": "Acme"}).status_code == 201
        # a credit policy in percent of the month fee, and no month fee: refused at once
        r = client.post("/v1/contracts", json=example("aliyun-mail", "c-nofee", month_fee=None, payments=None))
        assert r.status_code == 422 and "month_fee" in r.text
        assert client.get("/v1/contracts/c-nofee").status_code == 404

        # a contract with an outage: replacing it by one without its month fee is refused, the old one kept
        assert client.post("/v1/contracts", json=example("aliyun-mail", "c-fee", payments=None)).status_code == 201
        started = (datetime.now(timezone.utc) - timedelta(hours=6)).isoformat()  # in this month's figures
        incident = {"contract_id": "c-fee", "category": "mail_send_receive", "started_at": started}
        assert client.post("/v1/incidents", json=incident).status_code == 201
        r = client.put("/v1/contracts/c-fee", json=example("aliyun-mail", "c-fee", month_fee=None, payments=None))
        assert r.status_code == 422 and "could not be evaluated after this change" in r.text and "month_fee" in r.text
        assert client.get("/v1/contracts/c-fee").json()["month_fee"] == "150.00"
        credits = client.get("/v1/contracts/c-fee/credits")
        assert credits.status_code == 200 and credits.json()["credit"]["uncapped"] != "0.00"
        assert client.put("/v1/contracts/c-fee", json=example("aliyun-mail", "c-fee", month_fee="200.00",
                                                              payments=None)).status_code == 200

        # billing data the contract's ledger rules cannot use (no term, no user count): refused, not stored
        assert client.post("/v1/contracts", json=example("shengjing-crm", "c-crm")).status_code == 201
        sample = {"at": started, "used_mb": "1024"}
        r = client.post("/v1/contracts/c-crm/storage", json=sample)
        assert r.status_code == 422 and "ledger" in r.text, r.text
        assert rows(db_file, "storage_samples", "c-crm") == 0
        assert client.get("/v1/contracts/c-crm/credits").status_code == 200  # the contract still evaluates
        assert client.get("/v1/windows").json()["evaluation_errors"] == []
