"""``kill -9`` of ``slawatch run`` loses no committed result and no incident;
after a restart the incidents and windows are the same, never duplicated."""
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from conftest import ROOT

from tests.peers.util import free_port, wait_port, wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them


def test_kill_9_and_restart(tmp_path):
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/crash.db"}
    cli = [sys.executable, "-m", "app.cli"]
    contract = tmp_path / "c.yaml"
    body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
    contract.write_text(yaml.safe_dump(body, allow_unicode=True))
    subprocess.run([*cli, "contracts", "import", str(contract)], cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run([*cli, "tokens", "create", "--role", "admin"], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    closed = free_port()
    port = free_port()
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}

    def start():
        p = subprocess.Popen([*cli, "run", "--port", str(port)], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, 30)
        return p

    def results() -> int:
        with sqlite3.connect(tmp_path / "crash.db") as db:
            return db.execute("SELECT count(*) FROM probe_results").fetchone()[0]

    def incidents():
        return sorted((i["id"], i["started_at"], i["reported_at"], i["status"])
                      for i in httpx.get(f"{url}/v1/incidents", headers=auth).json()["items"])

    app = start()
    try:
        for tid, p in (("down", closed), ("up", listener.getsockname()[1])):
            r = httpx.post(f"{url}/v1/targets", headers=auth, json={
                "id": tid, "contract_id": body["id"], "protocol": "tcp", "config": {"host": "127.0.0.1", "port": p},
                "category": "server_fault", "interval": 1, "timeout": 0.5})
            assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not incidents():
            time.sleep(0.3)
        landed = results()
        assert wait_until(lambda: results() > landed, 10)  # another batch lands, then a crash in the middle of work
        before = incidents()
        metrics = httpx.get(f"{url}/metrics", headers=auth).text
        assert f'slawatch_probe_success{{contract="{body["id"]}",location="default",protocol="tcp",target="down"}} 0.0' in metrics
        assert f'slawatch_probe_success{{contract="{body["id"]}",location="default",protocol="tcp",target="up"}} 1.0' in metrics
        assert "slawatch_scheduler_start_drift_seconds" in metrics
        windows_before = httpx.get(f"{url}/v1/incidents/{before[0][0]}", headers=auth).json()["windows"]
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=10)
        stored = results()
        assert stored > 0
        assert len(before) == 1 and before[0][0].startswith("down@") and before[0][3] == "open"

        app = start()
        # probing resumes; detection replays over the stored results (two flushes later it is through)
        assert wait_until(lambda: results() >= stored + 6, 15)
        after = incidents()
        assert after == before  # the same incident, not a second one
        assert results() > stored  # nothing committed was lost, and probing went on
        windows_after = httpx.get(f"{url}/v1/incidents/{before[0][0]}", headers=auth).json()["windows"]
        assert [(w["window"], w["deadline"]) for w in windows_after] == \
            [(w["window"], w["deadline"]) for w in windows_before]
    finally:
        app.terminate()
        app.wait(timeout=10)
        listener.close()
