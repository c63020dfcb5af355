"""schemathesis against the running app's OpenAPI (bounded): every check but
one, 100 examples per operation, stateful links: no server error, every status
code, content type, header (Allow on 405) and body as documented, and
authentication enforced as declared. Left out: positive_data_acceptance — a
schema-valid body can still name a template, contract or protocol that does
not exist, which is a 422 by design."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from tests.peers.util import free_port, wait_port

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

ST = Path(sys.executable).parent / "schemathesis"


def test_schemathesis_finds_no_server_error(tmp_path):
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/st.db"}
    slawatch = [sys.executable, "-m", "app.cli"]
    token = subprocess.run([*slawatch, "tokens", "create", "--role", "admin"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    port = free_port()
    app = subprocess.Popen([*slawatch, "run", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 30)
        res = subprocess.run([str(ST), "run", f"http://127.0.0.1:{port}/openapi.json", "-H",
                              f"Authorization: Bearer {token}", "--max-examples", "100", "--seed", "1",
                              "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--no-color"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
        tail = res.stdout[-3000:]
        assert res.returncode == 0, tail
        summary = tail.split("SUMMARY")[-1]
        assert " passed" in summary and " failed" not in summary.replace("Authentication failed", ""), tail
        assert "Authentication failed" not in summary, tail  # the admin token stayed valid throughout
    finally:
        app.terminate()
        app.wait(timeout=10)
