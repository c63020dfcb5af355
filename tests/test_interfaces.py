"""The CLI and the REST API share one report; the API serves templates and OpenAPI;
``slawatch run`` really listens and answers."""
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from conftest import ROOT

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

CASE = ROOT / "tests/cases/example1_xiamen.json"
SLAWATCH = [sys.executable, "-m", "app.cli"]


def test_cli_and_api_give_the_same_report(client):
    cli = subprocess.run([*SLAWATCH, "evaluate", str(CASE)], capture_output=True, cwd=ROOT, timeout=60, check=True)
    api = client.post("/v1/evaluations", content=CASE.read_bytes())
    assert api.status_code == 200
    assert json.loads(cli.stdout) == api.json()
    assert api.json()["credit"]["amount"] == "58.06"


def test_cli_reads_stdin():
    res = subprocess.run([*SLAWATCH, "evaluate", "-"], input=CASE.read_bytes(), capture_output=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0 and json.loads(res.stdout)["termination_right"]["granted"] is True


def test_templates_endpoints(client):
    listed = client.get("/v1/templates").json()
    assert [t["id"] for t in listed] == ["aliyun-mail", "inolink-sms", "ningbo-colo", "shengjing-crm", "xiamen-mail"]
    ningbo = client.get("/v1/templates/ningbo-colo").json()
    resolve = next(w for w in ningbo["windows"] if w["name"] == "resolve_1wd")
    assert (resolve["limit"], resolve["calendar"], resolve["clause"]) == ("1wd", "cn_workdays", "五.6")
    assert "一个工作日" in resolve["original"]
    missing = client.get("/v1/templates/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_openapi_documents_the_case(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/evaluations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"contract", "period", "at"}
    assert {"Contract", "Incident", "Payment"} <= set(spec["components"]["schemas"])
    assert client.get("/docs").status_code == 200


def test_rules_check_and_show():
    ok = subprocess.run([*SLAWATCH, "rules", "check"], capture_output=True, cwd=ROOT, timeout=60, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 5 templates")
    show = subprocess.run([*SLAWATCH, "rules", "show", "xiamen-mail"], capture_output=True, cwd=ROOT, timeout=60, text=True)
    assert show.returncode == 0
    assert "handle_24h" in show.stdout and "乙方 7" in show.stdout and "month_fee" in show.stdout
    bad = subprocess.run([*SLAWATCH, "rules", "show", "nope"], capture_output=True, cwd=ROOT, timeout=60, text=True)
    assert bad.returncode == 1 and "unknown template 'nope'" in bad.stderr and bad.stdout == ""


def test_rules_check_fails_on_a_bad_file(tmp_path):
    import shutil
    root = tmp_path / "sla_rules"
    shutil.copytree(ROOT / "sla_rules", root)
    (root / "contracts" / "broken.yaml").write_text("id: x\ntemplate: ningbo-colo\nparams:\n  notify_limit: soon\n")
    res = subprocess.run([*SLAWATCH, "rules", "check"], capture_output=True, cwd=tmp_path, timeout=60, text=True,
                         env={**os.environ, "SLAWATCH_RULES_DIR": str(root)})
    assert res.returncode == 1
    assert res.stderr.strip() == ("slawatch: sla_rules/contracts/broken.yaml:4: params.notify_limit: "
                                  "expected a duration like 2h or 1wd")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_slawatch_run_serves_the_api(tmp_path):
    port = _free_port()
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db"}
    token = subprocess.run([*SLAWATCH, "tokens", "create", "--role", "noc"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert token.startswith("slw_")
    proc = subprocess.Popen([*SLAWATCH, "run", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("slawatch run did not answer /healthz")
        assert httpx.post(f"{url}/v1/evaluations", content=CASE.read_bytes(), timeout=10).status_code == 401
        res = httpx.post(f"{url}/v1/evaluations", content=CASE.read_bytes(), timeout=10,
                         headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 200 and res.json()["credit"]["amount"] == "58.06"
        assert httpx.get(f"{url}/readyz", timeout=10).json()["status"] == "ready"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
