"""Scale-out: two ``slawatch worker`` processes share targets through PostgreSQL
leases — no target probed twice in an interval, none dropped when one worker is
killed (its targets move within one lease period)."""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from itertools import pairwise

import pytest
import yaml
from conftest import ROOT, TEST_SECRET_KEY, service_client
from sqlalchemy import text

from app.storage.db import make_engine
from tests.peers.util import wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
LEASE, INTERVAL, N = 3, 1, 6


async def _sql(schema, sql):
    engine = make_engine(PG, schema)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return result.fetchall() if result.returns_rows else None
    finally:
        await engine.dispose()


@pytest.fixture
def schema():
    name = f"w_{os.getpid()}"
    asyncio.run(_sql(None, f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    asyncio.run(_sql(None, f'CREATE SCHEMA "{name}"'))
    yield name
    asyncio.run(_sql(None, f'DROP SCHEMA "{name}" CASCADE'))


def _tcp_targets(schema) -> socket.socket:
    """N TCP targets probed every INTERVAL, all up (a listener that accepts)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    client, _ = service_client(PG, schema)
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        body["customer"] = "acme"
        assert client.post("/v1/contracts", json=body).status_code == 201
        for i in range(N):
            r = client.post("/v1/targets", json={"id": f"t{i}", "contract_id": body["id"], "protocol": "tcp",
                                                 "config": {"host": "127.0.0.1", "port": listener.getsockname()[1]},
                                                 "category": "server_fault", "interval": INTERVAL, "timeout": 0.5})
            assert r.status_code == 201
    return listener


def _probes_by_target(schema) -> dict[str, list[tuple[float, str]]]:
    rows = asyncio.run(_sql(schema, "SELECT target_id, started_at, detail FROM probe_results ORDER BY started_at"))
    by_target = defaultdict(list)
    for tid, started, detail in rows:
        by_target[tid].append((started.timestamp(), (detail or {}).get("worker")))
    assert set(by_target) == {f"t{i}" for i in range(N)}
    for tid, seq in by_target.items():
        gaps = [b[0] - a[0] for a, b in pairwise(seq)]
        assert min(gaps) > 0.5 * INTERVAL, (tid, gaps)  # never probed twice in an interval
    return by_target


def _latest(schema) -> dict[str, tuple[float, str]]:
    rows = asyncio.run(_sql(schema, "SELECT target_id, max(started_at) FROM probe_results GROUP BY target_id"))
    return {tid: at.timestamp() for tid, at in rows}


def _worker(schema, wid):
    env = {**os.environ, "SLAWATCH_DATABASE_URL": PG, "SLAWATCH_DATABASE_SCHEMA": schema, "SLAWATCH_WORKER_ID": wid}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--lease", str(LEASE)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_two_workers_share_targets_and_survive_a_kill(schema):
    listener = _tcp_targets(schema)
    a, b = _worker(schema, "a"), _worker(schema, "b")
    try:
        both = lambda: {w for _, w in asyncio.run(_sql(
            schema, "SELECT DISTINCT target_id, detail->>'worker' FROM probe_results"))} >= {"a", "b"}
        assert wait_until(both, 30)
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=10)
        killed_at = time.time()
        # within one lease period (+ a round of the leaser, + an interval) every target is probed again
        assert wait_until(lambda: len(_latest(schema)) == N
                          and min(_latest(schema).values()) > killed_at + LEASE, LEASE + 10)
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=15)
        listener.close()
    by_target = _probes_by_target(schema)
    workers = {w for seq in by_target.values() for _, w in seq}
    assert workers == {"a", "b"}  # both probed, each under its stable id


def test_a_graceful_restart_probes_every_target_within_an_interval_and_2_s(schema):
    """SIGTERM releases the leases and leaves the fair share; the restarted worker
    (same id) takes them at once."""
    listener = _tcp_targets(schema)
    w = _worker(schema, "solo")
    try:
        assert wait_until(lambda: len(_latest(schema)) == N, 30)
        w.terminate()
        assert w.wait(timeout=10) == 0  # within Docker's stop grace period
        held = asyncio.run(_sql(schema, "SELECT count(*) FROM targets WHERE lease_owner IS NOT NULL"))[0][0]
        gone = asyncio.run(_sql(schema, "SELECT count(*) FROM workers"))[0][0]
        assert (held, gone) == (0, 0)  # released on the way out
        w = _worker(schema, "solo")
        up = lambda: asyncio.run(_sql(schema, "SELECT count(*) FROM workers"))[0][0] == 1
        assert wait_until(up, 30, every=0.05)
        started = time.time()
        assert wait_until(lambda: min(_latest(schema).values()) > started, INTERVAL + 2, every=0.1)
    finally:
        if w.poll() is None:
            w.terminate()
            w.wait(timeout=15)
        listener.close()
    _probes_by_target(schema)  # and never twice in an interval across the restart


def test_slawatch_run_on_postgresql_shares_targets_with_a_worker(schema):
    """`slawatch run` on PostgreSQL takes leases too, so adding workers beside it
    (the Compose stack) never probes a target twice."""
    from tests.peers.util import free_port, wait_port

    listener = _tcp_targets(schema)
    env = {**os.environ, "SLAWATCH_DATABASE_URL": PG, "SLAWATCH_DATABASE_SCHEMA": schema}
    port = free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for args in (["run", "--port", str(port)], ["worker", "--lease", str(LEASE)])]
    recent = lambda: {w for tid, w in asyncio.run(_sql(  # the workers of the last 2 s
        schema, "SELECT DISTINCT target_id, detail->>'worker' FROM probe_results "
                "WHERE started_at > now() - interval '2 seconds'"))}
    try:
        wait_port(port, 30)
        assert wait_until(lambda: len(recent()) == 2, 30)  # the worker's lease rounds hand it its share
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=15)
        listener.close()
    _probes_by_target(schema)  # and never twice in an interval


def test_an_sms_report_reaches_the_worker_that_waits_for_it(schema, tmp_path):
    """Scale-out: the gateway reports delivery to `slawatch api`; the probe that
    waits for it runs in a `slawatch worker`; the report crosses by NOTIFY."""
    import threading

    import httpx

    from app.demo.state import Demo
    from app.demo.web import gateway, http_server
    from tests.peers.util import free_port, wait_port

    ready, loop_box = threading.Event(), {}

    def run_gateway():  # the demo's Kannel-like gateway, in a thread with its own loop
        async def go():
            server = await asyncio.start_server(
                http_server(gateway(Demo(tmp_path, 0), httpx.AsyncClient(timeout=5), set())), "127.0.0.1", 0)
            loop_box["port"], loop_box["loop"], loop_box["server"] = server.sockets[0].getsockname()[1], \
                asyncio.get_running_loop(), server
            ready.set()
            await server.serve_forever()
        try:
            asyncio.run(go())
        except asyncio.CancelledError:
            pass
    threading.Thread(target=run_gateway, daemon=True).start()
    assert ready.wait(10)

    client, _ = service_client(PG, schema)
    port = free_port()
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/inolink-sms.yaml").read_text())
        body["customer"] = "acme"
        assert client.post("/v1/contracts", json=body).status_code == 201
        r = client.post("/v1/targets", json={
            "id": "sms", "contract_id": body["id"], "protocol": "sms", "category": "sms_delivery",
            "interval": 2, "timeout": 2,
            "config": {"to": "+8613800000000", "callback_url": f"http://127.0.0.1:{port}/v1/sms/deliveries",
                       "kannel": {"url": f"http://127.0.0.1:{loop_box['port']}", "username": "demo",
                                  "password": "demo"},
                       "send_opens": "00:00:00", "send_closes": "23:59:59.999999"}})
        assert r.status_code == 201, r.text
    env = {**os.environ, "SLAWATCH_DATABASE_URL": PG, "SLAWATCH_DATABASE_SCHEMA": schema,
           "SLAWATCH_SECRET_KEY": TEST_SECRET_KEY}  # the gateway's password is stored encrypted
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for args in (["api", "--port", str(port)], ["worker", "--lease", str(LEASE)])]
    try:
        wait_port(port, 30)
        deadline, rows = time.monotonic() + 30, []
        while time.monotonic() < deadline and not any(ok for ok, *_ in rows):
            time.sleep(0.5)
            rows = asyncio.run(_sql(schema, "SELECT ok, error, detail FROM probe_results WHERE target_id = 'sms'"))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=15)
        loop_box["loop"].call_soon_threadsafe(loop_box["server"].close)
    assert rows, "the worker never probed the SMS target"
    ok_rows = [(ok, error, detail) for ok, error, detail in rows if ok]
    assert ok_rows and ok_rows[0][2].get("worker"), rows  # delivered, in the worker


def test_one_ticket_sender_among_api_processes(schema):
    """`slawatch api` processes send tickets only while holding the sender's
    advisory lock: one at a time per schema, passed on when the holder goes."""
    from app.storage.locks import Leadership

    async def go():
        e1, e2 = make_engine(PG, schema), make_engine(PG, schema)
        a, b = Leadership(e1, schema), Leadership(e2, schema)
        try:
            first = [await a.held(), await b.held(), await a.held()]
            await a.close()  # the holder stops (or dies: its connection closes)
            second = await b.held()
            elsewhere = Leadership(e1, f"{schema}_other")  # another installation's lock
            third = await elsewhere.held()
            await elsewhere.close()
        finally:
            await b.close()
            await e1.dispose()
            await e2.dispose()
        return first, second, third
    assert asyncio.run(go()) == ([True, False, True], True, True)
