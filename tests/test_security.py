"""Every route has an owner: anonymous callers reach nothing but health and the
SMS gateway's webhook; a scrape token reads /metrics and /probe only; tokens
expire and are revoked without SQL."""
from datetime import timedelta

import pytest
from conftest import service_client

from tests.peers.util import wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


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
    # refused within the 5 s of the authentication cache
    assert wait_until(lambda: client.get("/v1/contracts", headers=bearer(noc)).status_code == 401, 6)


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
    assert wait_until(lambda: client.get("/v1/contracts", headers=bearer(token)).status_code == 401, 6)
    r = client.get("/v1/contracts", headers=bearer(token))
    assert r.status_code == 401 and "expired" in r.json()["detail"]


# --- secrets are write-only and encrypted at rest ---------------------------------

IMAP = {"host": "127.0.0.1", "port": 143, "username": "probe", "password": "s3cret-imap"}


def stored(url: str, sql: str) -> list:
    import sqlite3
    with sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///")) as db:
        return db.execute(sql).fetchall()


def test_secrets_are_never_returned_and_stored_encrypted(tmp_path):
    import yaml
    from conftest import ROOT

    url = f"sqlite+aiosqlite:///{tmp_path}/v.db"
    client, make_token = service_client(url)
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/aliyun-mail.yaml").read_text())
        body.update(customer="acme", tickets={"webhook_url": "http://127.0.0.1:9/h", "webhook_secret": "hook-s3cret"})
        r = client.post("/v1/contracts", json=body)
        assert r.status_code == 201 and r.json()["tickets"]["webhook_secret"] == "***set***"
        t = client.post("/v1/targets", json={"id": "mx", "contract_id": body["id"], "protocol": "imap",
                                             "config": IMAP, "category": "mail_send_receive"})
        assert t.status_code == 201 and t.json()["config"]["password"] == "***set***"
        for who in ("admin", "noc"):
            h = bearer(make_token(who)) if who != "admin" else {}
            assert client.get("/v1/targets/mx", headers=h).json()["config"]["password"] == "***set***"
            assert client.get(f"/v1/contracts/{body['id']}", headers=h).json()["tickets"]["webhook_secret"] \
                == "***set***"
        # a replacement that sends the mask back keeps the secret; a new value replaces it
        again = client.get(f"/v1/contracts/{body['id']}").json()
        assert client.put(f"/v1/contracts/{body['id']}", json=again).status_code == 200
        (before,) = stored(url, f"SELECT body FROM contracts WHERE id = '{body['id']}'")[0]
        assert "hook-s3cret" not in before and '"webhook_secret": "fernet:' in before
        vault = client.app.state.vault
        import json
        assert vault.unseal(json.loads(before))["tickets"]["webhook_secret"] == "hook-s3cret"
        (config,) = stored(url, "SELECT config FROM targets WHERE id = 'mx'")[0]
        assert "s3cret-imap" not in config and vault.unseal(json.loads(config))["password"] == "s3cret-imap"
        # a mask where nothing is stored is refused, naming the field
        bad = client.post("/v1/targets", json={"id": "mx2", "contract_id": body["id"], "protocol": "imap",
                                               "config": {**IMAP, "password": "***set***"},
                                               "category": "mail_send_receive"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/config"


def test_a_server_without_a_key_refuses_to_store_a_secret(tmp_path):
    client, _ = service_client(f"sqlite+aiosqlite:///{tmp_path}/n.db", secret_key=None)
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        client.post("/v1/contracts", json={"id": "c", "template": "aliyun-mail", "customer": "acme"})
        r = client.post("/v1/targets", json={"id": "mx", "contract_id": "c", "protocol": "imap", "config": IMAP,
                                             "category": "mail_send_receive"})
        assert r.status_code == 422 and "SLAWATCH_SECRET_KEY" in r.json()["detail"]
        assert client.get("/v1/targets/mx").status_code == 404  # nothing written


def contract_with_secret(tmp_path, name: str) -> str:
    """A database with a customer, a contract and (with a target) a stored password."""
    url = f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
    client, _ = service_client(url)
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        client.post("/v1/contracts", json={"id": "c", "template": "aliyun-mail", "customer": "acme"})
        if name != "old":
            assert client.post("/v1/targets", json={"id": "mx", "contract_id": "c", "protocol": "imap",
                                                    "config": IMAP, "category": "mail_send_receive"}).status_code == 201
    return url


def test_start_refuses_without_the_key_and_rotation_re_encrypts(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from conftest import ROOT, TEST_SECRET_KEY

    from tests.peers.util import free_port

    url = contract_with_secret(tmp_path, "k")
    cli = [sys.executable, "-m", "app.cli"]
    env = {k: v for k, v in os.environ.items() if k != "SLAWATCH_SECRET_KEY"} | {"SLAWATCH_DATABASE_URL": url}
    run = subprocess.run([*cli, "run", "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "slawatch: SLAWATCH_SECRET_KEY: not set, and the database holds secrets" in run.stderr
    wrong = subprocess.run([*cli, "run", "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True,
                           env=env | {"SLAWATCH_SECRET_KEY": subprocess.run(
                               [*cli, "secrets", "keygen"], capture_output=True, text=True, cwd=ROOT).stdout.strip()},
                           timeout=60)
    assert wrong.returncode == 2 and "cannot decrypt the stored secrets" in wrong.stderr
    new = subprocess.run([*cli, "secrets", "keygen"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    rot = subprocess.run([*cli, "secrets", "rotate"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=env | {"SLAWATCH_SECRET_KEY": f"{new},{TEST_SECRET_KEY}"})
    assert rot.returncode == 0, rot.stderr
    from app.auth.vault import Vault
    (config,) = stored(url, "SELECT config FROM targets WHERE id = 'mx'")[0]
    assert Vault.from_text(new).unseal(json.loads(config))["password"] == "s3cret-imap"  # the new key alone opens it


def test_rows_stored_in_the_clear_by_an_earlier_version_are_sealed_at_start(tmp_path):
    import asyncio
    import json

    from conftest import TEST_SECRET_KEY

    from app.auth.sealing import seal_stored
    from app.auth.vault import Vault
    from app.storage.db import make_engine, sessions

    url = contract_with_secret(tmp_path, "old")
    import sqlite3
    with sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///")) as db:  # as an earlier version wrote it
        db.execute("INSERT INTO targets (id, contract_id, protocol, config, category, interval, timeout, locations, "
                   "failures_to_open, successes_to_close, enabled) VALUES ('old', 'c', 'imap', ?, "
                   "'mail_send_receive', 60, 10, '[\"default\"]', 3, 2, 1)", (json.dumps(IMAP),))

    async def go():
        engine = make_engine(url)
        async with sessions(engine)() as db:
            first = await seal_stored(db, Vault.from_text(TEST_SECRET_KEY))
            again = await seal_stored(db, Vault.from_text(TEST_SECRET_KEY))
        await engine.dispose()
        return first, again
    assert asyncio.run(go()) == (1, 0)  # sealed once; the second start finds nothing in the clear
    (config,) = stored(url, "SELECT config FROM targets WHERE id = 'old'")[0]
    assert "s3cret-imap" not in config and json.loads(config)["password"].startswith("fernet:")


# --- bad input is a 4xx naming what is wrong, never a 500 -------------------------

@pytest.mark.parametrize("cid", ["a/b", "..", "../../etc/passwd", ".hidden", "x" * 65, "bad\x00id", "ünïcode"])
def test_contract_ids_are_one_safe_path_segment(svc, cid):
    client, _ = svc
    r = client.post("/v1/contracts", json={"id": cid, "template": "aliyun-mail", "customer": "acme"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["pointer"] in ("/id", "/")


@pytest.mark.parametrize("port", [99999, 0, -1])
def test_target_ports_are_1_to_65535(svc, port):
    client, _ = svc
    client.post("/v1/contracts", json={"id": "c-ports", "template": "aliyun-mail", "customer": "acme"})
    r = client.post("/v1/targets", json={"id": "p", "contract_id": "c-ports", "protocol": "tcp",
                                         "config": {"host": "127.0.0.1", "port": port}, "category": "server_fault"})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/config/port", r.text


@pytest.mark.parametrize("path", ["/v1/evaluations", "/v1/ledger", "/v1/contracts", "/v1/incidents"])
def test_deep_or_nul_json_is_refused_before_parsing(svc, path):
    client, _ = svc
    deep = client.post(path, content=b"[" * 5000 + b"]" * 5000, headers={"content-type": "application/json"})
    assert deep.status_code == 422 and "nested deeper than 32 levels" in deep.json()["detail"]
    nul = client.post(path, content=b'{"id": "x\\u0000"}', headers={"content-type": "application/json"})
    assert nul.status_code == 422 and "U+0000" in nul.json()["detail"]


def test_control_characters_in_the_path_or_query(svc):
    client, _ = svc
    assert client.get("/v1/contracts/a%00b").status_code == 422
    assert client.get("/v1/windows", params={"status": "run\x00ning"}).status_code == 422


def test_deep_json_to_the_cli_is_exit_2(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT
    res = subprocess.run([sys.executable, "-m", "app.cli", "evaluate", "-"], input=b"[" * 100000, cwd=ROOT,
                         capture_output=True, timeout=60)
    assert res.returncode == 2 and b"nested deeper than 32 levels" in res.stderr and b"Traceback" not in res.stderr


def test_a_database_that_is_down_is_503_with_retry_after_not_500(closed_port):
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/test"))
    client = TestClient(app)  # no lifespan: only the routes
    r = client.get("/v1/contracts", headers=bearer("slw_whatever"))
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.headers["content-type"] == "application/problem+json" and "127.0.0.1" not in r.text
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable", "reason": "database_unreachable"}


def test_a_skipped_probe_is_neither_up_nor_down_on_metrics():
    from datetime import datetime, timezone

    from app.metrics import ProbeMetrics
    from probes.result import ProbeResult

    m = ProbeMetrics()
    labels = ("sms", "c", "sms", "default")
    now = datetime.now(timezone.utc)
    m.observe(labels, ProbeResult(False, now, 0.0, {}, "skipped:outside_send_window", {}, skipped=True))
    text = m.render()
    assert "slawatch_probe_success{" not in text  # not a failure: ProbeDown and "targets down" stay quiet
    assert 'slawatch_probe_skipped{contract="c",location="default",protocol="sms",target="sms",' \
           'reason="outside_send_window"} 1' in text
    m.observe(labels, ProbeResult(True, now, 0.1, {}, None, {}))
    text = m.render()
    assert 'slawatch_probe_success{contract="c",location="default",protocol="sms",target="sms"} 1.0' in text
    assert "slawatch_probe_skipped{" not in text


def test_an_admin_voids_a_wrong_incident_kept_in_its_timeline_counted_nowhere(svc):
    client, make_token = svc
    client.post("/v1/contracts", json={"id": "c-void", "template": "xiamen-mail", "customer": "acme",
                                       "month_fee": "300.00"})
    inc = client.post("/v1/incidents", json={"contract_id": "c-void", "category": "mail_send_receive",
                                             "started_at": "2026-11-02T10:00:00+08:00"}).json()
    client.post(f"/v1/incidents/{inc['id']}/classify", json={"attribution": "provider"})
    period = {"period": "2026-11", "at": "2026-11-30T00:00:00+08:00"}
    before = client.get("/v1/contracts/c-void/credits", params=period).json()
    assert before["outage"]["seconds"] > 0 and before["credit"]["uncapped"] != "0.00"
    noc = bearer(make_token("noc"))
    assert client.post(f"/v1/incidents/{inc['id']}/void", json={"note": "test entry"}, headers=noc).status_code == 403
    no_reason = client.post(f"/v1/incidents/{inc['id']}/void", json={})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["pointer"] == "/note"
    voided = client.post(f"/v1/incidents/{inc['id']}/void", json={"note": "entered for the wrong contract"})
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert [e["kind"] for e in voided.json()["timeline"]][-1] == "voided"
    credits = client.get("/v1/contracts/c-void/credits", params=period).json()
    assert (credits["outage"]["seconds"], credits["credit"]["uncapped"], credits["windows"]) == (0, "0.00", [])
    assert client.post(f"/v1/incidents/{inc['id']}/resolve", json={}).status_code == 409


def test_readyz_says_disk_full_when_writes_are_about_to_fail(tmp_path):
    """A tmpfs of 1 MB for the data folder: below the free-space floor, /readyz is 503 disk_full."""
    import subprocess

    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.settings import Settings
    from app.storage.db import make_engine, upgrade

    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        url = f"sqlite+aiosqlite:///{tmp_path}/r.db"
        upgrade(make_engine(url))
        client = TestClient(create_app(Settings(database_url=url, data_dir=small)))
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json() == {"status": "unavailable", "reason": "disk_full"}
        client = TestClient(create_app(Settings(database_url=url, data_dir=tmp_path)))
        assert client.get("/readyz").json()["status"] == "ready"
    finally:
        subprocess.run(["umount", "--lazy", str(small)], capture_output=True)
