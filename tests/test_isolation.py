"""A customer token sees only its own customer: every route of the OpenAPI list
with a path parameter answers 404 for another customer's resource, and every
list leaves the other customer out. Parametrised over the app's routes, not a
hand-picked few."""
import json
import re
import sqlite3

import pytest
import yaml
from conftest import ROOT, service_client

OTHERS = {"customer_id": "other", "contract_id": "c-other", "target_id": "t-other"}
PUBLIC = {"/v1/templates/{template_id}"}  # the templates are no customer's data
# the provider's own administration: no customer's data, refused to every customer alike
ADMIN_ONLY = {"/v1/tokens", "/v1/tokens/{token_id}", "/v1/admin/rules/reload",
              "/v1/oncall", "/v1/portal/links", "/v1/notifications",
              "/v1/intake/unrouted"}  # staff only: 403 to any customer


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db_file = tmp_path_factory.mktemp("iso") / "iso.db"
    admin, make_token = service_client(f"sqlite+aiosqlite:///{db_file}")
    with admin:
        for cust, cid, tid in (("acme", "c-acme", "t-acme"), ("other", "c-other", "t-other")):
            admin.post("/v1/customers", json={"id": cust, "name": cust})
            body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
            body.update(id=cid, customer=cust)
            assert admin.post("/v1/contracts", json=body).status_code == 201
            assert admin.post("/v1/targets", json={"id": tid, "contract_id": cid, "protocol": "tcp",
                                                   "config": {"host": "127.0.0.1", "port": 22},
                                                   "category": "server_fault"}).status_code == 201
            inc = admin.post("/v1/incidents", json={"contract_id": cid, "category": "server_fault",
                                                    "started_at": "2026-11-02T10:00:00+08:00"}).json()
            if cust == "other":
                OTHERS["incident_id"] = inc["id"]
            assert admin.post("/v1/maintenance", json={
                "id": f"m-{cust}", "contract_id": cid, "starts_at": "2026-11-01T02:00:00+08:00",
                "ends_at": "2026-11-01T03:00:00+08:00", "announced_at": "2026-10-30T09:00:00+08:00"}).status_code == 201
        OTHERS["window_id"] = "m-other"
        with sqlite3.connect(db_file) as db:  # a ticket of the other customer (the outbox has no API to create)
            db.execute("INSERT INTO tickets (id, kind, contract_id, customer_id, payload, state, attempts, created_at) "
                       "VALUES ('breach:x:y', 'window_breached', 'c-other', 'other', '{}', 'failed', 1, "
                       "'2026-11-02 10:00:00')")
        OTHERS["ticket_id"] = "breach:x:y"
        token = make_token("customer", "acme")
        yield admin, token


def routes():
    """Every (method, path) of the app's OpenAPI document under /v1."""
    from app.api.main import create_app
    from app.settings import Settings
    spec = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    for path, ops in sorted(spec["paths"].items()):
        if path.startswith("/v1"):
            for method in sorted(ops):
                yield method.upper(), path


ALL = list(routes())
WITH_PARAMS = [(m, p) for m, p in ALL if "{" in p and p not in PUBLIC | ADMIN_ONLY]
LISTS = [(m, p) for m, p in ALL if "{" not in p and m == "GET" and p not in ADMIN_ONLY]


@pytest.mark.parametrize("method, path", [(m, p) for m, p in ALL if p in ADMIN_ONLY])
def test_administration_is_403_to_customers(world, method, path):
    admin, token = world
    res = admin.request(method, path.replace("{token_id}", "anything"), headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 403 and res.headers["content-type"] == "application/problem+json"


BODIES = {  # valid bodies, so the answer is about the resource, not the payload
    "/v1/contracts/{contract_id}/invoices": {"id": "inv-x", "amount": "1.00", "due_at": "2026-11-01T00:00:00+08:00"},
    "/v1/contracts/{contract_id}/storage": {"at": "2026-11-01T00:00:00+08:00", "used_mb": "10"},
    "/v1/contracts/{contract_id}/notices": {"id": "n-x", "kind": "x", "sent_at": "2026-11-01T00:00:00+08:00",
                                            "channel": "email"},
}


def fill(path: str) -> str:
    def value(m):
        name = m.group(1)
        if name == "action":
            return "acknowledge"
        return OTHERS[name]
    return re.sub(r"{(\w+)}", value, path)


def test_the_route_list_is_not_empty():
    assert len(WITH_PARAMS) >= 8 and len(LISTS) >= 5


@pytest.mark.parametrize("method, path", WITH_PARAMS, ids=[f"{m} {p}" for m, p in WITH_PARAMS])
def test_another_customers_resource_is_404(world, method, path):
    admin, token = world
    url = fill(path)
    body = {} if method in ("POST", "PUT") else None
    body = BODIES.get(path, body)
    if path == "/v1/contracts/{contract_id}" and method == "PUT":
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        body.update(id="c-other", customer="other")
    res = admin.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 404, (url, res.status_code, res.text)
    assert res.headers["content-type"] == "application/problem+json"
    # and the admin does see it: the 404 is about who asks, not a wrong URL
    if method == "GET":
        assert admin.request(method, url).status_code == 200


@pytest.mark.parametrize("method, path", LISTS, ids=[f"{m} {p}" for m, p in LISTS])
def test_lists_leave_the_other_customer_out(world, method, path):
    admin, token = world
    params = {"status": "running"} if path == "/v1/windows" else None
    res = admin.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text
    calendar = res.headers["content-type"].startswith("text/calendar")
    text = res.text if calendar else json.dumps(res.json())
    assert "c-other" not in text and '"other"' not in text and OTHERS["incident_id"] not in text
