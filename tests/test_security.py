"""Every route has an owner: anonymous callers reach nothing but health and the
SMS gateway's webhook; a scrape token reads /metrics and /probe only; tokens
expire and are revoked without SQL."""
import time
from datetime import timedelta

import pytest
from conftest import service_client


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    client, make_token = service_client(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sec')}/s.db")
    with client:
        assert client.post("/v1/customers", json={"id": "acme", "name": "Acme"}).status_code == 201
        yield client, make_token


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ["/metrics", "/probe?module=tcp_connect&target=127.0.0.1:1", "/v1/contracts",
                                  "/v1/tokens", "/v1/windows"])
def test_anonymous_gets_401_with_the_bearer_challenge(svc, path):
    client, _ = svc
    r = client.get(path, headers={"Authorization": ""})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"


def test_scrape_token_reads_metrics_and_probe_only(svc):
    client, make_token = svc
    scrape = bearer(make_token("scrape"))
    assert client.get("/metrics", headers=scrape).status_code == 200
    assert client.get("/probe", params={"module": "tcp_connect", "target": "127.0.0.1:1"},
                      headers=scrape).status_code == 200
    for path in ("/v1/contracts", "/v1/customers", "/v1/windows", "/v1/tokens"):
        assert client.get(path, headers=scrape).status_code == 403, path


def test_customers_never_read_metrics_or_probe(svc):
    client, make_token = svc
    customer = bearer(make_token("customer", "acme"))
    assert client.get("/metrics", headers=customer).status_code == 403
    assert client.get("/probe", params={"module": "tcp_connect", "target": "127.0.0.1:1"},
                      headers=customer).status_code == 403
    assert client.get("/v1/tokens", headers=customer).status_code == 403


def test_tokens_are_listed_and_revoked_within_5_seconds(svc):
    client, make_token = svc
    noc = make_token("noc")
    assert client.get("/v1/contracts", headers=bearer(noc)).status_code == 200
    items = client.get("/v1/tokens").json()["items"]
    assert all(set(t) == {"id", "role", "customer_id", "name", "created_at", "last_used_at", "expires_at", "revoked"}
               for t in items)
    assert not any("slw_" in str(v) for t in items for v in t.values())  # never the token itself
    used = [t for t in items if t["role"] == "noc" and t["last_used_at"]]
    assert used, "the noc token's last use is recorded"
    assert client.delete(f"/v1/tokens/{used[-1]['id']}").status_code == 204
    assert client.delete("/v1/tokens/nope").status_code == 404
    me = client.get("/v1/tokens").json()["items"]
    own = [t["id"] for t in me if t["role"] == "admin" and t["last_used_at"]]
    assert client.delete(f"/v1/tokens/{own[0]}").status_code == 409  # not the token making the request
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and client.get("/v1/contracts", headers=bearer(noc)).status_code == 200:
        time.sleep(0.2)
    assert client.get("/v1/contracts", headers=bearer(noc)).status_code == 401


def test_an_expired_token_is_refused(svc):
    import asyncio

    from app.auth.service import create_token
    from app.storage.db import make_engine, sessions

    client, _ = svc
    url = str(client.app.state.engine.url)

    async def short():
        engine = make_engine(url)
        async with sessions(engine)() as db:
            token = await create_token(db, "noc", expires_in=timedelta(seconds=1))
        await engine.dispose()
        return token
    token = asyncio.run(short())
    assert client.get("/v1/contracts", headers=bearer(token)).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and client.get("/v1/contracts", headers=bearer(token)).status_code == 200:
        time.sleep(0.2)
    r = client.get("/v1/contracts", headers=bearer(token))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
