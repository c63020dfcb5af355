"""Customers claim; staff decide (SEMANTICS §1: unknown counts, provisionally).
A back-dated claim neither grants money nor a termination right outright: its
clock starts when it is reported, its credit and any termination right it
carries are shown as provisional until staff classify it. Claims and
statement renders are rate-limited per customer; claims file at most one
ticket per contract per round; a PDF renders off the event loop."""
import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import yaml
from conftest import ROOT, service_client

from tests.peers.util import until, wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


def setup(tmp_path, **settings):
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path}/c.db", **settings)
    client.__enter__()
    client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
    body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
    body["customer"] = "acme"
    assert client.post("/v1/contracts", json=body).status_code == 201
    return client, {"Authorization": f"Bearer {make_token('customer', 'acme')}"}, body["id"]


def test_a_back_dated_claim_is_provisional_until_staff_classify_it(tmp_path):
    client, customer, cid = setup(tmp_path)
    try:
        started = datetime.now(timezone.utc) - timedelta(days=4)  # "down for four days"
        r = client.post("/v1/incidents", headers=customer, json={
            "contract_id": cid, "category": "mail_send_receive", "started_at": started.isoformat()})
        assert r.status_code == 201, r.text
        claim = r.json()
        assert (claim["attribution"], claim["provisional"], claim["source"]) == ("unknown", True, "claim")
        reported = datetime.fromisoformat(claim["reported_at"])
        assert abs((reported - datetime.now(timezone.utc)).total_seconds()) < 60  # its clock starts now
        credits = client.get(f"/v1/contracts/{cid}/credits", headers=customer).json()
        c, t = credits["credit"], credits["termination_right"]
        assert c["owed"] == "0.00" and c["owed_provisional"] == c["amount"] != "0.00"
        assert (t["granted"], t["provisional"]) == (True, True)
        total = client.get("/v1/customers/acme/credits", headers=customer).json()
        assert (total["owed"], total["owed_provisional"]) == ("0.00", c["amount"])
        page = client.get(f"/v1/contracts/{cid}/statement", headers=customer).text
        assert "Provisional (claims not yet classified)" in page and "provisional: it rests on" in page
        # a customer can neither back-date the report nor classify
        r = client.post("/v1/incidents", headers=customer, json={
            "contract_id": cid, "category": "mail_send_receive", "started_at": started.isoformat(),
            "reported_at": started.isoformat()})
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/reported_at"
        assert client.post(f"/v1/incidents/{claim['id']}/classify", headers=customer,
                           json={"attribution": "provider"}).status_code == 403
        # staff decide
        assert client.post(f"/v1/incidents/{claim['id']}/classify", json={"attribution": "provider"}).status_code == 200
        c = client.get(f"/v1/contracts/{cid}/credits").json()["credit"]
        assert (c["owed"], c["owed_provisional"]) == (c["amount"], "0.00")
    finally:
        client.__exit__(None, None, None)


def test_claims_and_statements_are_rate_limited_per_customer(tmp_path):
    client, customer, cid = setup(tmp_path, claims_per_hour=3, statements_per_hour=2)
    try:
        started = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        codes = [client.post("/v1/incidents", headers=customer, json={
            "contract_id": cid, "category": "mail_general", "started_at": started}).status_code for _ in range(5)]
        assert codes == [201, 201, 201, 429, 429]
        r = client.post("/v1/incidents", headers=customer, json={
            "contract_id": cid, "category": "mail_general", "started_at": started})
        assert r.headers["content-type"] == "application/problem+json" and int(r.headers["retry-after"]) > 0
        # staff are not limited by a customer's budget
        assert client.post("/v1/incidents", json={"contract_id": cid, "category": "mail_general",
                                                  "started_at": started}).status_code == 201
        pages = [client.get(f"/v1/contracts/{cid}/statement", headers=customer).status_code for _ in range(3)]
        assert pages == [200, 200, 429]
    finally:
        client.__exit__(None, None, None)


def test_claims_file_at_most_one_ticket_per_contract_per_round(tmp_path):
    from app.tickets.loop import TicketLoop

    client, customer, _ = setup(tmp_path, ticket_warn_percent=1)
    try:
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        body.update(customer="acme", params={"notify_limit": "1m"})  # 1 % of a minute: a warning at once
        assert client.post("/v1/contracts", json=body).status_code == 201
        started = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
        ids = [client.post("/v1/incidents", headers=customer, json={
            "contract_id": body["id"], "category": "server_fault", "started_at": started}).json()["id"]
            for _ in range(3)]
        state = client.app.state
        loop = TicketLoop(state.live, state.sessions, state.settings, None, state.vault)

        def warned():  # every claim past 1 % of its notify window (0.6 s of 1 min)
            items = client.get("/v1/windows", params={"status": "running"}).json()["items"]
            notify = [w for w in items if w["incident_id"] in ids and w["window"] == "notify"]
            return len(notify) == 3 and all(w["elapsed_seconds"] >= 0.6 for w in notify)
        assert wait_until(warned, 10, every=0.1)

        def claim_tickets():
            items = client.get("/v1/tickets", params={"contract": body["id"]}).json()["items"]
            return [t for t in items if t["incident_id"] in ids]
        counts = []
        for _ in range(3):
            client.portal.call(loop.once)
            counts.append(len(claim_tickets()))
        assert counts == [1, 2, 3]
    finally:
        client.__exit__(None, None, None)


def test_a_pdf_statement_never_stalls_the_event_loop(tmp_path):
    """While two PDFs render, the same event loop answers another request: the
    render runs elsewhere (with WeasyPrint on the loop, the health check would
    wait for both PDFs). An order of events, not a timing."""
    client, customer, cid = setup(tmp_path)
    app = client.app
    client.__exit__(None, None, None)

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     timeout=120) as c:
            pdfs = [asyncio.ensure_future(c.get(f"/v1/contracts/{cid}/statement", params={"format": "pdf"},
                                                headers=customer)) for _ in range(2)]
            assert await until(lambda: app.state.pdf.pending == 2 or all(p.done() for p in pdfs), 30)
            health = await c.get("/healthz")
            rendering = not any(p.done() for p in pdfs)
            return health, rendering, await asyncio.gather(*pdfs)
    try:
        health, rendering, results = asyncio.run(go())
    finally:
        app.state.pdf.close()
    assert health.status_code == 200 and rendering  # answered while both PDFs were still rendering
    assert [r.status_code for r in results] == [200, 200]
    assert all(r.content[:5] == b"%PDF-" for r in results)
