import copy
import json
from pathlib import Path

import pytest

from app.contracts.rules import load_rules
from app.evaluation.service import evaluate_case, validate_case

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "sla_rules"


@pytest.fixture(scope="session")
def rules():
    return load_rules(RULES_DIR)


@pytest.fixture
def evaluate(rules):
    """Evaluate a case given as a plain dict (as it would arrive in JSON)."""
    def run(case: dict, rules_=None) -> dict:
        return evaluate_case(validate_case(json.loads(json.dumps(case))), rules_ or rules)
    return run


def make_case(template: str, incidents: list[dict], period: str, at: str, **contract) -> dict:
    c = {"id": "c-1", "template": template, "timezone": "Asia/Shanghai"}
    c.update(contract)
    return {"contract": c, "incidents": copy.deepcopy(incidents), "period": period, "at": at}


def incident(id: str, category: str, started: str, resolved: str | None = None, **kw) -> dict:
    d = {"id": id, "category": category, "attribution": kw.pop("attribution", "provider"),
         "started_at": started, "resolved_at": resolved}
    d.update(kw)
    return d


def row(report: dict, incident_id: str, window: str) -> dict:
    return next(r for r in report["windows"] if r["incident_id"] == incident_id and r["window"] == window)


# --- real peers for the probe tests ---------------------------------------------

import os  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import subprocess  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import trustme  # noqa: E402


@pytest.fixture(scope="session")
def ca():
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(cert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture(scope="session")
def localhost_cert(ca):
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture
def silent_listener():
    """Accepts connections (the kernel completes the handshake) and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield s.getsockname()[1]
    s.close()


@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="session")
def netns_host():
    """A test host of our own in a network namespace: (address, set_up(bool))."""
    if os.geteuid() != 0:
        pytest.fail("the ICMP tests need root to make a network namespace (CI runs as root)")
    ns, host_if, peer_if = f"slw{os.getpid()}", f"slw{os.getpid()}a", f"slw{os.getpid()}b"
    net = f"198.18.{os.getpid() % 250}"  # a subnet of its own: two runs on one machine do not share a route
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)
    run("ip", "netns", "add", ns)
    try:
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if, "netns", ns)
        run("ip", "addr", "add", f"{net}.1/30", "dev", host_if)
        run("ip", "link", "set", host_if, "up")
        run("ip", "-n", ns, "addr", "add", f"{net}.2/30", "dev", peer_if)
        run("ip", "-n", ns, "link", "set", peer_if, "up")
        yield f"{net}.2", lambda up: run("ip", "-n", ns, "link", "set", peer_if, "up" if up else "down")
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def cert_expiring_in(ca, days: float):
    now = datetime.now(timezone.utc)
    return ca.issue_cert("localhost", "127.0.0.1", not_before=now - timedelta(days=30),
                         not_after=now + timedelta(days=days))


@pytest.fixture(scope="module")
def web():
    """A real HTTP server on a free loopback port (tests/peers/web.py)."""
    from tests.peers.web import Web
    w = Web()
    yield w
    w.stop()


# --- the service on a real database -----------------------------------------------

import asyncio as _asyncio  # noqa: E402

# a fixed key for the tests' secrets at rest (slawatch secrets keygen makes real ones)
TEST_SECRET_KEY = "kAVFwM6rQTl0ULiNLvm7ZX_3Y6Qf0kq8Rk7d3F6nZxk="


def service_client(db_url: str, schema: str | None = None, role: str = "admin", **settings):
    """A TestClient on an upgraded database, with an ``admin`` token by default.
    Returns (client, make_token)."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.auth.service import create_token
    from app.settings import Settings
    from app.storage.db import make_engine, sessions, upgrade

    upgrade(make_engine(db_url, schema))

    def make_token(role: str, customer: str | None = None) -> str:
        async def go():
            engine = make_engine(db_url, schema)
            try:
                async with sessions(engine)() as db:
                    return await create_token(db, role, customer)
            finally:
                await engine.dispose()
        return _asyncio.run(go())

    settings.setdefault("secret_key", TEST_SECRET_KEY)
    client = TestClient(create_app(Settings(database_url=db_url, database_schema=schema, **settings)))
    client.headers["Authorization"] = f"Bearer {make_token(role)}"
    return client, make_token


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The API on a fresh SQLite database, as an admin."""
    c, _ = service_client(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/slawatch.db")
    with c:
        yield c
