"""The portal in a real browser: Debian's Chromium driven by Playwright for Python
(headless; every request to anything but 127.0.0.1 is aborted) against a real
``slawatch run``. A customer signs in with a one-time link, sees only their
contracts, opens a month, reads the credit's arithmetic, downloads the PDF and
signs out; a forged form is refused; a NOC user acknowledges an incident on the
board and its response window stops. Screenshots land in the test's tmp dir."""
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from conftest import ROOT

from tests.peers.util import free_port, wait_port

pytestmark = pytest.mark.peers
CLI = [sys.executable, "-m", "app.cli"]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def server(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/portal.db",
           "SLAWATCH_PUBLIC_URL": base, "SLAWATCH_DATA_DIR": str(tmp_path / "data"),
           "SLAWATCH_TICKET_INTERVAL_SECONDS": "1"}
    token = subprocess.run([*CLI, "tokens", "create", "--role", "admin"], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen([*CLI, "run", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_port(port, 30)
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        seed(api)
        yield base, api
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def seed(api: httpx.Client) -> None:
    for cid in ("acme", "other"):
        assert api.post("/v1/customers", json={"id": cid, "name": cid.title()}).status_code == 201
    mail = yaml.safe_load((ROOT / "sla_rules/contracts/examples/xiamen-mail.yaml").read_text())
    colo = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
    mail["customer"], colo["customer"] = "acme", "other"
    for body in (mail, colo):
        assert api.post("/v1/contracts", json=body).status_code == 201, body["id"]
    started = datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)  # 30 h of provider outage over 11-03 and 11-04
    inc = api.post("/v1/incidents", json={"contract_id": mail["id"], "category": "mail_send_receive",
                                          "started_at": started.isoformat()}).json()
    api.post(f"/v1/incidents/{inc['id']}/classify", json={"attribution": "provider"})
    api.post(f"/v1/incidents/{inc['id']}/resolve", json={"at": (started + timedelta(hours=30)).isoformat()})
    now = datetime.now(timezone.utc)
    r = api.post("/v1/incidents", json={"contract_id": colo["id"], "category": "server_fault",
                                        "started_at": (now - timedelta(minutes=3)).isoformat()})
    assert r.status_code == 201


def link(api: httpx.Client, **body) -> str:
    r = api.post("/v1/portal/links", json=body)
    assert r.status_code == 201, r.text
    return r.json()["url"]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        try:
            yield b
        finally:
            b.close()


def loopback_only(context, blocked: list[str]) -> None:
    def guard(route):
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()
    context.route("**/*", guard)


def test_a_customer_signs_in_reads_the_month_downloads_the_pdf_and_signs_out(server, browser, tmp_path):
    base, api = server
    url = link(api, customer_id="acme")
    blocked: list[str] = []
    context = browser.new_context(viewport={"width": 1200, "height": 1600}, accept_downloads=True)
    loopback_only(context, blocked)
    page = context.new_page()
    page.goto(url)  # a GET does not use the link up (mail scanners fetch links)
    page.click("#use-link")
    page.wait_for_url(f"{base}/portal/")
    assert "demo-xiamen-mail" in page.content() and "demo-ningbo-colo" not in page.content()
    page.screenshot(path=tmp_path / "home.png", full_page=True)
    assert page.goto(f"{base}/portal/contracts/demo-ningbo-colo").status == 404  # another customer's: not found

    page.goto(f"{base}/portal/contracts/demo-xiamen-mail?period=2026-11")
    text = page.inner_text("main")
    assert "2 affected days × ¥300.00 ÷ 30 = ¥20.00" in text  # the credit's arithmetic, spelled out
    assert "违约 4" in text and "¥20.00" in page.inner_text("#owed")
    assert "2026-11-03 09:00:00" in text  # the outage's start in the contract's zone, to the second
    assert page.locator("svg.bar rect.outage").count() == 1  # the outage drawn on the month bar
    page.screenshot(path=tmp_path / "customer.png", full_page=True)
    pdf = context.request.get(f"{base}/portal/contracts/demo-xiamen-mail/statement?period=2026-11&format=pdf")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"

    forged = context.request.post(f"{base}/portal/signout", form={"csrf": "not-the-token"})
    assert forged.status == 403  # a form without the session's CSRF token changes nothing
    assert page.goto(f"{base}/portal/").url == f"{base}/portal/"  # still signed in

    page.click("#signout")
    page.wait_for_url(f"{base}/")
    assert page.goto(f"{base}/portal/contracts/demo-xiamen-mail").url == f"{base}/"  # the session is gone
    again = context.new_page()
    again.goto(url)
    again.click("#use-link")
    assert "expired or was used already" in again.content()  # a link signs in once
    context.close()
    assert blocked == []  # nothing on the pages reached beyond loopback (no CDN, no fonts, no analytics)


def test_the_noc_acknowledges_on_the_board_and_the_window_stops(server, browser, tmp_path):
    base, api = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    blocked: list[str] = []
    loopback_only(context, blocked)
    page = context.new_page()
    page.goto(link(api, role="noc"))
    page.click("#use-link")
    page.wait_for_url(f"{base}/portal/noc")
    row = page.locator("#rows tr", has_text="respond_1h")
    assert row.count() == 1 and "server_fault" not in row.inner_text()  # a human title, not a code
    left = row.locator("td.left").inner_text()
    page.wait_for_function("(t) => document.querySelector('#rows td.left').textContent !== t", arg=left,
                           timeout=5000)  # the countdown runs
    page.screenshot(path=tmp_path / "noc.png", full_page=True)
    row.locator("button[data-action=acknowledge]").click()
    page.wait_for_url(f"{base}/portal/noc")
    assert page.locator("#rows tr", has_text="respond_1h").count() == 0  # acknowledged: that window stopped
    assert page.locator("#rows tr", has_text="resolve_1wd").count() == 1  # the others still run
    iid = api.get("/v1/incidents", params={"contract": "demo-ningbo-colo"}).json()["items"][0]["id"]
    windows = {w["window"]: w["status"] for w in api.get(f"/v1/incidents/{iid}").json()["windows"]}
    assert windows["respond_1h"] == "met"
    again = page.locator("#rows tr", has_text="resolve_1wd").locator("button[data-action=acknowledge]")
    again.click()  # the API's rule: acknowledging twice is a conflict, shown on the page
    assert "acknowledge" in page.inner_text("#action-error")

    page.goto(f"{base}/portal/noc")
    rows = page.locator("#rows tr").count()
    started = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    assert api.post("/v1/incidents", json={"contract_id": "demo-ningbo-colo", "category": "server_fault",
                                           "started_at": started}).status_code == 201
    # the board polls: the new incident's three windows appear without a reload
    page.wait_for_function("(n) => document.querySelectorAll('#rows tr').length >= n", arg=rows + 3, timeout=20000)
    unconfirmed = page.locator("#unconfirmed li").count()
    assert unconfirmed == 2
    page.locator("#unconfirmed button[data-action=confirm]").first.click()  # the claim confirmed: the provider's
    page.wait_for_url(f"{base}/portal/noc")
    assert page.locator("#unconfirmed li").count() == unconfirmed - 1
    context.close()
    assert blocked == []
