"""The service on real databases (SQLite in a temp dir and the real PostgreSQL):
contracts, targets, probe results → incidents (SEMANTICS §4), staff actions on
the timeline, live windows and credits."""
import asyncio
import os
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from conftest import ROOT, service_client
from sqlalchemy import text

from app.incidents.service import apply_detection, count_incidents, record_results
from app.storage.db import make_engine, sessions
from app.storage.tables import ProbeResultRow, TargetRow

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
UTC = timezone.utc


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request, tmp_path_factory):
    """(url, schema): a temp SQLite file, or a fresh schema in the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('svc')}/slawatch.db", None
        return
    schema = f"t_{os.getpid()}_{id(request)}"

    async def ddl(sql):
        engine = make_engine(PG)
        async with engine.begin() as conn:
            await conn.execute(text(sql))
        await engine.dispose()
    asyncio.run(ddl(f'CREATE SCHEMA "{schema}"'))
    yield PG, schema
    asyncio.run(ddl(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(scope="module")
def svc(db):
    client, make_token = service_client(*db)
    with client:
        assert client.post("/v1/customers", json={"id": "acme", "name": "Acme 厦门"}).status_code == 201
        assert client.post("/v1/customers", json={"id": "other", "name": "Other"}).status_code == 201
        for cid, customer in (("c-acme", "acme"), ("c-other", "other")):
            body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
            body.update(id=cid, customer=customer)
            r = client.post("/v1/contracts", json=body)
            assert r.status_code == 201, r.text
        yield client, make_token, db


def results(target, start, pattern, interval=60, locations=("a",)):
    """Rows for rounds given as a string: F failed, . ok; one row per location."""
    out = []
    for i, ch in enumerate(pattern):
        for j, loc in enumerate(locations):
            failed = ch == "F" if isinstance(ch, str) else ch[j]
            out.append(ProbeResultRow(target_id=target, location=loc, started_at=start + timedelta(seconds=i * interval + j),
                                      ok=not failed, error="refused" if failed else None))
    return out


def run_db(db, fn):
    async def go():
        engine = make_engine(*db)
        try:
            async with sessions(engine)() as s:
                return await fn(s)
        finally:
            await engine.dispose()
    return asyncio.run(go())


def test_probe_results_open_and_resolve_an_incident_idempotently(svc):
    client, _, db = svc
    r = client.post("/v1/targets", json={"id": "mx-acme", "contract_id": "c-acme", "protocol": "tcp",
                                         "config": {"host": "127.0.0.1", "port": 25}, "category": "mail_send_receive"})
    assert r.status_code == 201, r.text
    start = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)

    async def feed(s):
        target = await s.get(TargetRow, "mx-acme")
        await record_results(s, results("mx-acme", start, "..FFFF..F..."))
        first = await apply_detection(s, target)
        again = await apply_detection(s, target)  # replay: nothing new
        return first, again, await count_incidents(s)
    first, again, n = run_db(db, feed)
    assert again == [] and n == 1 and len(set(first)) == 1
    inc = client.get(f"/v1/incidents/{first[0]}").json()
    # three failed rounds open it: started at the first (02:02), reported at the third (02:04);
    # two good rounds close it at the first of them (02:06)
    assert (inc["started_at"], inc["reported_at"], inc["resolved_at"]) == (
        "2026-10-05T02:02:00+00:00", "2026-10-05T02:04:00+00:00", "2026-10-05T02:06:00+00:00")
    assert (inc["source"], inc["status"], inc["provisional"]) == ("probe", "resolved", True)
    assert [e["kind"] for e in inc["timeline"]] == ["opened", "resolved"]
    credits = client.get("/v1/contracts/c-acme/credits", params={"period": "2026-10",
                                                                  "at": "2026-11-01T00:00:00+08:00"}).json()
    assert credits["outage"]["seconds"] == 240 and credits["credit"]["amount"] == "9.68"  # 300 × 1/31
    assert credits["windows"][0]["window"] == "handle_24h" and credits["windows"][0]["status"] == "met"


def test_detection_from_recent_rounds_matches_the_whole_history(svc):
    """The worker detects after each batch from a few rounds before its oldest
    result (cost independent of stored history): the incidents it opens and
    resolves are exactly those one detection over the whole history finds."""
    import random
    client, _, db = svc
    for tid in ("inc-acme", "full-acme"):
        r = client.post("/v1/targets", json={"id": tid, "contract_id": "c-acme", "protocol": "tcp",
                                             "config": {"host": "127.0.0.1", "port": 25},
                                             "category": "mail_send_receive"})
        assert r.status_code == 201, r.text
    rng = random.Random(12)
    pattern = "".join(rng.choice("..F") for _ in range(300))  # runs of 3+ F open, 2+ good close
    start = datetime(2026, 10, 9, 0, 0, tzinfo=UTC)

    async def feed(s):
        inc, full = await s.get(TargetRow, "inc-acme"), await s.get(TargetRow, "full-acme")
        pos = 0
        while pos < len(pattern):  # batches of 1–4 rounds, as flushes come
            n = rng.randint(1, 4)
            batch = results("inc-acme", start + timedelta(seconds=60 * pos), pattern[pos:pos + n])
            await record_results(s, batch)
            await apply_detection(s, inc, min(b.started_at for b in batch))
            pos += n
        await record_results(s, results("full-acme", start, pattern))
        await apply_detection(s, full)
    run_db(db, feed)

    def spans(tid):
        items = client.get("/v1/incidents", params={"contract": "c-acme", "limit": 500}).json()["items"]
        return sorted((i["started_at"], i["reported_at"], i["resolved_at"]) for i in items if i["target_id"] == tid)
    assert len(spans("full-acme")) >= 5
    assert spans("inc-acme") == spans("full-acme")


def test_quorum_across_locations(svc):
    client, _, db = svc
    client.post("/v1/targets", json={"id": "web-acme", "contract_id": "c-acme", "protocol": "http",
                                     "config": {"url": "http://127.0.0.1:8080/"}, "category": "mail_send_receive",
                                     "locations": ["a", "b", "c"]})
    start = datetime(2026, 10, 7, 3, 0, tzinfo=UTC)
    one_of_three = [(True, False, False)] * 5  # one location failing is not a failed round
    two_of_three = [(True, True, False)] * 3

    async def feed(s):
        target = await s.get(TargetRow, "web-acme")
        await record_results(s, results("web-acme", start, one_of_three, locations=("a", "b", "c")))
        quiet = await apply_detection(s, target)
        await record_results(s, results("web-acme", start + timedelta(minutes=10), two_of_three,
                                        locations=("a", "b", "c")))
        return quiet, await apply_detection(s, target)
    quiet, opened = run_db(db, feed)
    assert quiet == [] and len(opened) == 1
    assert client.get(f"/v1/incidents/{opened[0]}").json()["status"] == "open"


def test_manual_incident_actions_and_the_timeline(svc):
    client, _, _ = svc
    r = client.post("/v1/incidents", json={"contract_id": "c-acme", "category": "mail_send_receive",
                                           "started_at": "2026-10-20T08:00:00+08:00",
                                           "reported_at": "2026-10-20T08:30:00+08:00", "note": "customer phoned"})
    assert r.status_code == 201, r.text
    inc = r.json()
    iid = inc["id"]
    assert inc["status"] == "open" and inc["windows"][0]["window"] == "handle_24h"
    act = lambda a, **b: client.post(f"/v1/incidents/{iid}/{a}", json=b)
    assert act("acknowledge", at="2026-10-20T08:40:00+08:00").status_code == 200
    twice = act("acknowledge", at="2026-10-20T08:41:00+08:00")
    assert twice.status_code == 409 and twice.json()["detail"] == "action: incident was already acknowledged"
    early = act("resolve", at="2026-10-20T07:00:00+08:00")
    assert early.status_code == 422 and early.json()["detail"].startswith("at: resolved before the incident started")
    assert act("pause", at="2026-10-20T09:00:00+08:00", reason="waiting_on_customer").json()["status"] == "paused"
    assert act("resume", at="2026-10-20T10:00:00+08:00").json()["status"] == "open"
    assert act("classify", attribution="provider", severity="major").json()["attribution"] == "provider"
    done = act("resolve", at="2026-10-20T12:00:00+08:00").json()
    assert done["status"] == "resolved" and done["resolved_at"] == "2026-10-20T04:00:00+00:00"
    w = done["windows"][0]
    assert (w["status"], w["elapsed_seconds"]) == ("met", 2.5 * 3600)  # 08:30→12:00 less the 1 h pause
    assert [e["kind"] for e in done["timeline"]] == ["opened", "acknowledged", "paused", "resumed", "classified",
                                                     "resolved"]
    assert act("reopen", at="2026-10-20T13:00:00+08:00").json()["status"] == "open"
    naive = act("resolve", at="2026-10-21T12:00:00")
    assert naive.status_code == 422 and naive.json()["errors"][0]["pointer"] == "/at"
    assert act("resolve", at="2026-10-21T12:00:00+08:00").json()["status"] == "resolved"


def test_running_windows_list_what_breaches_next(svc):
    client, _, _ = svc
    now = datetime.now(UTC)
    for hours in (20, 2):
        r = client.post("/v1/incidents", json={"contract_id": "c-acme", "category": "mail_send_receive",
                                               "started_at": (now - timedelta(hours=hours)).isoformat()})
        assert r.status_code == 201
    items = client.get("/v1/windows", params={"status": "running"}).json()["items"]
    lefts = [w["time_left_seconds"] for w in items]
    assert len(items) >= 2 and lefts == sorted(lefts) and all(x > 0 for x in lefts)
    assert 3.5 * 3600 < lefts[0] < 4.5 * 3600  # the one reported 20 h ago has ~4 h left of 24 h


def test_customer_credits_sum_its_contracts(svc):
    client, _, _ = svc
    r = client.get("/v1/customers/acme/credits", params={"period": "2026-10"}).json()
    assert r["customer_id"] == "acme" and [c["contract_id"] for c in r["contracts"]] == ["c-acme"]
    assert r["amount"] == r["contracts"][0]["credit"]["amount"]


def test_bad_input_names_the_field(svc):
    client, _, _ = svc
    r = client.post("/v1/contracts", json={"id": "x", "template": "xiamen-mial", "customer": "acme"})
    assert r.status_code == 422 and r.json()["detail"] == (
        "/template: unknown template 'xiamen-mial' (known: aliyun-mail, inolink-sms, ningbo-colo, shengjing-crm, "
        "xiamen-mail)")
    r = client.post("/v1/targets", json={"id": "t", "contract_id": "c-acme", "protocol": "tcp",
                                         "config": {"host": "127.0.0.1"}, "category": "server_fault"})
    assert r.status_code == 422 and r.json()["detail"] == "/config/port: required field is missing"
    r = client.post("/v1/incidents", json={"contract_id": "c-acme", "category": "mail_send_receive",
                                           "started_at": "2026-10-20T08:00:00"})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/started_at"
    assert client.get("/v1/contracts/nope").status_code == 404
    assert client.get("/v1/contracts/c-acme/credits", params={"period": "2026-13"}).status_code == 422


def test_tokens_are_required_and_stored_hashed(svc):
    client, make_token, db = svc
    anon = client.get("/v1/contracts", headers={"Authorization": ""})
    assert anon.status_code == 401 and anon.headers["content-type"] == "application/problem+json"
    token = make_token("noc")
    stored = run_db(db, lambda s: s.exec(text("SELECT token_hash FROM api_tokens")))
    assert token not in str(stored)
    noc = client.get("/v1/contracts", headers={"Authorization": f"Bearer {token}"})
    assert noc.status_code == 200 and noc.json()["total"] == 2
    denied = client.post("/v1/customers", json={"id": "z", "name": "z"}, headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403


def test_contract_delete_keeps_history_and_huge_bodies_are_refused(svc):
    client, _, _ = svc
    assert client.delete("/v1/contracts/c-acme").status_code == 409  # it has incidents
    body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/aliyun-mail.yaml").read_text())
    body.update(id="c-spare", customer="acme")
    assert client.post("/v1/contracts", json=body).status_code == 201
    assert client.delete("/v1/contracts/c-spare").status_code == 204
    assert client.get("/v1/contracts/c-spare").status_code == 404
    huge = client.post("/v1/contracts", content=b"{" + b" " * (6 * 1024 * 1024) + b"}",
                       headers={"content-type": "application/json"})
    assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"


def test_metrics_show_open_incidents_clocks_and_money(svc):
    client, _, _ = svc
    client.portal.call(client.app.state.sla_metrics.refresh)
    text = client.get("/metrics").text
    lines = {ln.rsplit(" ", 1)[0]: float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln and ln[0] != "#"}
    assert lines['slawatch_open_incidents{category="mail_send_receive",contract="c-acme"}'] >= 2
    running = [k for k in lines if k.startswith("slawatch_window_time_left_seconds{contract=\"c-acme\"")]
    assert running and all(lines[k] > 0 for k in running)
    assert 'slawatch_credit_cap_cny{contract="c-acme"}' in lines
    assert lines['slawatch_termination_right_granted{contract="c-other"}'] == 0
    assert not any("c-spare" in k for k in lines)  # a deleted contract's series are gone


def test_live_ledger_from_stored_billing_data(svc):
    client, make_token, _ = svc
    r = client.post("/v1/contracts/c-acme/invoices", json={"id": "inv-1", "amount": "3600.00",
                                                            "due_at": "2026-01-01T00:00:00+08:00",
                                                            "paid_at": "2026-01-06T15:00:00+08:00"})
    assert r.status_code == 201, r.text
    assert client.post("/v1/contracts/c-acme/invoices", json={"id": "inv-1", "amount": "1.00",
                                                               "due_at": "2026-01-01T00:00:00+08:00"}).status_code == 422
    client.post("/v1/contracts/c-acme/notices", json={"id": "n1", "kind": "termination_request",
                                                      "sent_at": "2026-03-15T10:00:00+08:00", "channel": "email"})
    ledger = client.get("/v1/contracts/c-acme/ledger", params={"at": "2026-04-01T00:00:00+08:00"}).json()
    assert [(c["rule"], c["amount"]) for c in ledger["charges"]] == [("late_fee", "180.00")]
    assert [d["name"] for d in ledger["deadlines"]] == ["termination_effective_earliest"]
    customer = {"Authorization": f"Bearer {make_token('customer', 'acme')}"}
    assert client.get("/v1/contracts/c-acme/ledger", headers=customer).status_code == 200
    assert client.post("/v1/contracts/c-acme/notices", headers=customer,
                       json={"id": "n2", "kind": "x", "sent_at": "2026-03-15T10:00:00+08:00",
                             "channel": "mail"}).status_code == 403
    r = client.post("/v1/contracts/c-acme/storage", json={"at": "2026-03-15T10:00:00", "used_mb": "10"})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/at"


def test_ledger_deadlines_are_metrics(svc):
    client, _, _ = svc
    client.post("/v1/contracts/c-other/notices", json={"id": "n9", "kind": "termination_request",
                                                        "sent_at": "2026-11-20T10:00:00+08:00", "channel": "email"})
    client.portal.call(client.app.state.sla_metrics.refresh)
    text = client.get("/metrics").text
    line = next(x for x in text.splitlines()
                if x.startswith('slawatch_ledger_deadline_timestamp_seconds{contract="c-other"'))
    assert 'deadline="termination_effective_earliest"' in line
    assert float(line.rsplit(" ", 1)[1]) == datetime(2026, 12, 20, 2, 0, tzinfo=UTC).timestamp()


def test_customer_statement_page(svc):
    client, make_token, _ = svc
    customer = {"Authorization": f"Bearer {make_token('customer', 'acme')}"}
    r = client.get("/v1/contracts/c-acme/statement", params={"period": "2026-10"}, headers=customer)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    report = client.get("/v1/contracts/c-acme/credits", params={"period": "2026-10"}).json()
    assert f"¥{report['credit']['amount']}" in page and report["outage"]["availability_percent"] in page
    assert "<svg" in page and "违约 4" in page and "handle_24h" in page and "Amount owed" in page
    other = client.get("/v1/contracts/c-other/statement", headers=customer)
    assert other.status_code == 404


def test_a_changed_or_recreated_contract_is_used_at_once(svc):
    """The credits route keeps parsed contracts by (created_at, version): a PUT
    and a delete-and-recreate with the same id both show at once."""
    client, _, _ = svc
    body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
    body.update(id="c-versioned", customer="acme")
    assert client.post("/v1/contracts", json=body).status_code == 201

    def cap():
        r = client.get("/v1/contracts/c-versioned/credits", params={"period": "2026-10"})
        assert r.status_code == 200, r.text
        return r.json()["credit"]["cap"]
    def paid(amount):  # the year's payment: the cap is the month's share of it (违约 4)
        return {**body, "payments": [{**body["payments"][0], "amount": amount}]}
    assert cap() == "300.00"
    assert client.put("/v1/contracts/c-versioned", json=paid("5400.00")).status_code == 200
    assert cap() == "450.00"
    assert client.delete("/v1/contracts/c-versioned").status_code == 204
    assert client.get("/v1/contracts/c-versioned/credits", params={"period": "2026-10"}).status_code == 404
    assert client.post("/v1/contracts", json=paid("7200.00")).status_code == 201
    assert cap() == "600.00"
