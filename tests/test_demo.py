"""The demo of ``make run``: its mailbox, site and SMS gateway answer real probes
and fail when broken; and the whole walk of the README — ``slawatch run --demo``,
``demo break``, an incident with running windows, a credit, a ticket in the
mailbox file, ``demo restore`` — on a real process."""
import asyncio
import mailbox
import os
import random
import re
import socket
import subprocess
import sys
import time
from datetime import time as clock
from pathlib import Path

import httpx
import pytest

from app.demo.mailbox import serve_mailbox
from app.demo.state import OFFSETS, Demo
from app.demo.targets import demo_targets
from app.demo.web import serve_web
from probes import PROBES, TARGETS
from probes.sms_delivery import start_receiver
from tests.conftest import ROOT
from tests.peers.util import wait_port, wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

CLI = [sys.executable, "-m", "app.cli"]


def free_base() -> int:
    """A port base whose four demo ports are all free on loopback."""
    for _ in range(50):
        base = random.randrange(20000, 60000)
        socks = []
        try:
            for off in OFFSETS.values():
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free demo port base")


async def _probe(row, **overrides):
    config = {**row.config, **overrides}
    return await PROBES[row.protocol](TARGETS[row.protocol].model_validate(config), 5)


def test_demo_services_answer_probes_and_fail_when_broken(tmp_path):
    demo = Demo(tmp_path, free_base())

    async def go():
        receiver = await start_receiver()
        callback = f"http://127.0.0.1:{receiver.sockets[0].getsockname()[1]}/dlr"
        servers = await serve_mailbox(demo)
        web, close_web = await serve_web(demo)
        rows = {r.id: r for r in demo_targets(demo, "http://unused")}
        sms_all_day = {"callback_url": callback, "send_opens": clock(0), "send_closes": clock(23, 59, 59, 999999)}
        try:
            ok = {tid: await _probe(rows[tid], **(sms_all_day if tid == "demo-sms" else {})) for tid in rows}
            for service in ("mail", "server", "sms"):
                demo.set_broken(service, True)
            broken = {tid: await _probe(rows[tid], **(sms_all_day if tid == "demo-sms" else {})) for tid in rows}
            for service in ("mail", "server", "sms"):
                demo.set_broken(service, False)
            again = await _probe(rows["demo-mail-roundtrip"])
        finally:
            for s in servers + web:
                s.close()
            receiver.close()
            await close_web()
        return ok, broken, again

    ok, broken, again = asyncio.run(go())
    assert {tid: (r.ok, r.error) for tid, r in ok.items()} == {tid: (True, None) for tid in ok}
    assert {"send", "deliver"} <= set(ok["demo-mail-roundtrip"].phases)  # the message went round and was found
    assert {tid: r.error for tid, r in broken.items()} == {
        "demo-mail-roundtrip": "smtp:421", "demo-mail-imap": "imap:bye", "demo-server-https": "bad_status:503",
        "demo-crm-https": "bad_status:503", "demo-sms": "not_delivered"}
    assert again.ok  # the round trip's earlier messages were deleted, the mailbox still works


def test_imap_demo_refuses_a_wrong_password(tmp_path):
    demo = Demo(tmp_path, free_base())

    async def go():
        servers = await serve_mailbox(demo)
        try:
            row = next(r for r in demo_targets(demo, "http://unused") if r.id == "demo-mail-imap")
            return await _probe(row, password="wrong")
        finally:
            for s in servers:
                s.close()
    assert asyncio.run(go()).error == "auth_failed"


def test_demo_walk_from_the_readme(tmp_path):
    """`slawatch run --demo`, break server and mail, watch incidents, windows, a
    credit and a ticket appear, restore, watch them resolve."""
    base, port = free_base(), None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/demo.db",
           "SLAWATCH_DEMO_DIR": str(tmp_path / "demo"), "SLAWATCH_DEMO_PORT_BASE": str(base),
           "SLAWATCH_TICKET_WARN_PERCENT": "1",  # a warning ticket seconds after a window starts
           "SLAWATCH_TICKET_INTERVAL_SECONDS": "1", "SLAWATCH_METRICS_REFRESH_SECONDS": "1"}

    def cli(*args):
        return subprocess.run([*CLI, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout

    log = open(tmp_path / "run.log", "w")
    app = subprocess.Popen([*CLI, "run", "--demo", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_port(port, 30)
        url = f"http://127.0.0.1:{port}"
        noc = {"Authorization": f"Bearer {cli('tokens', 'create', '--role', 'noc').strip()}"}
        customer = {"Authorization": "Bearer " + cli("tokens", "create", "--role", "customer",
                                                      "--customer", "demo-customer").strip()}
        scrape = lambda: {"Authorization": "Bearer " + (tmp_path / "demo" / "scrape-token").read_text().strip()}
        assert httpx.get(f"{url}/metrics").status_code == 401  # nobody's money without a token
        assert (tmp_path / "demo" / "scrape-token").stat().st_mode & 0o077 == 0
        targets = httpx.get(f"{url}/v1/targets", headers=noc).json()["items"]
        assert {t["id"]: t["contract_id"] for t in targets} == {
            "demo-mail-roundtrip": "demo-xiamen-mail", "demo-mail-imap": "demo-aliyun-mail",
            "demo-server-https": "demo-ningbo-colo", "demo-crm-https": "demo-shengjing-crm",
            "demo-sms": "demo-inolink-sms"}

        # an SMS probe through the demo gateway, delivered when its report reaches
        # the service's own webhook (/v1/sms/deliveries); all day, unlike demo-sms
        sms = next(t for t in targets if t["id"] == "demo-sms")
        assert sms["config"]["kannel"]["password"] == "***set***"  # write-only
        config = {**sms["config"], "send_opens": "00:00:00", "send_closes": "23:59:59.999999",
                  "kannel": {**sms["config"]["kannel"], "password": "demo"}}
        assert config["callback_url"] == f"{url}/v1/sms/deliveries"
        r = httpx.post(f"{url}/v1/targets", headers=noc, json={
            "id": "sms-all-day", "contract_id": "demo-inolink-sms", "protocol": "sms", "config": config,
            "category": "sms_delivery", "interval": 2, "timeout": 2})
        assert r.status_code == 201, r.text
        line = 'slawatch_probe_success{contract="demo-inolink-sms",location="default",protocol="sms",target="sms-all-day"}'
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and f"{line} 1.0" not in httpx.get(f"{url}/metrics", headers=scrape()).text:
            time.sleep(0.5)
        assert f"{line} 1.0" in httpx.get(f"{url}/metrics", headers=scrape()).text

        assert "server is broken" in cli("demo", "break", "server")
        cli("demo", "break", "mail")
        assert "BROKEN" in cli("demo", "status")

        def open_incidents():
            items = httpx.get(f"{url}/v1/incidents", params={"open": "true"}, headers=noc).json()["items"]
            return {i["target_id"] for i in items if i["status"] == "open"}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(open_incidents()) < 4:
            time.sleep(1)
        assert open_incidents() == {"demo-server-https", "demo-crm-https", "demo-mail-roundtrip", "demo-mail-imap"}

        running = httpx.get(f"{url}/v1/windows", params={"status": "running"}, headers=noc).json()["items"]
        assert {(w["contract_id"], w["window"]) for w in running} >= {
            ("demo-ningbo-colo", "notify"), ("demo-ningbo-colo", "respond_1h"), ("demo-ningbo-colo", "resolve_1wd"),
            ("demo-aliyun-mail", "resolve_2h"), ("demo-xiamen-mail", "handle_24h")}
        period = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))  # the contract's month (UTC+8)
        credits = httpx.get(f"{url}/v1/contracts/demo-xiamen-mail/credits", params={"period": period},
                            headers=customer).json()
        # xiamen-mail 违约4: month fee 300.00 ÷ days in the month, one affected day (two at a month-end midnight)
        days = len(credits["outage"]["affected_days"])
        assert days >= 1 and credits["credit"]["lines"][0]["rule"] == "per_affected_day"
        assert credits["credit"]["amount"] == credits["credit"]["uncapped"] != "0.00"

        mbox = tmp_path / "demo" / "tickets.mbox"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (mbox.exists() and len(mailbox.mbox(mbox)) > 0):
            time.sleep(0.5)
        subjects = {m["Subject"] for m in mailbox.mbox(mbox)}
        assert any("demo-ningbo-colo: notify close to its deadline" in s for s in subjects), subjects
        # the same ticket reached the demo's DingTalk robot, signed, and its message is in the log
        assert wait_until(lambda: "DingTalk (demo robot): [slawatch] demo-ningbo-colo notify" in
                          (tmp_path / "run.log").read_text(), 30)

        cli("demo", "restore", "server")
        cli("demo", "restore", "mail")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and open_incidents():
            time.sleep(1)
        assert open_incidents() == set()
    finally:
        app.terminate()
        app.wait(timeout=20)
        log.close()
    text = Path(tmp_path / "run.log").read_text()
    for line in ("demo services on 127.0.0.1", "probe demo-server-https (http): FAILED bad_status:503",
                 "probe demo-server-https (http): ok again in",
                 "OPENED: demo-server-https failing since", "RESOLVED: demo-server-https good again",
                 "TICKET window_warning filed: demo-ningbo-colo"):
        assert line in text, line
    assert "Traceback" not in text
    # the gateway's delivery reports were logged (uvicorn's access log) without their nonce,
    # and the gateway's password never reached the log
    assert "/v1/sms/deliveries?nonce=***" in text
    assert not re.search(r"nonce=[0-9a-f]{32}", text) and "password=" + "demo" not in text


def test_demo_break_names_the_services():
    res = subprocess.run([*CLI, "demo", "break", "dns"], cwd=ROOT, capture_output=True, text=True)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr.strip() == "slawatch: unknown demo service 'dns' (known: mail, server, sms)"


def test_a_taken_demo_port_is_one_clear_line(tmp_path):
    base = free_base()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + OFFSETS["imap"]))
        taken.listen()
        env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/d.db",
               "SLAWATCH_DEMO_DIR": str(tmp_path / "demo"), "SLAWATCH_DEMO_PORT_BASE": str(base)}
        res = subprocess.run([*CLI, "run", "--demo", "--port", "1"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip() == (f"slawatch: demo imap port 127.0.0.1:{base + 43}: Address already in use; "
                                  f"stop what holds it or set SLAWATCH_DEMO_PORT_BASE (now {base})")
