"""Breach tickets through real sinks: an SMTP server on loopback (down for a while,
then up) and a webhook receiver; each event files exactly one ticket, and a
``kill -9`` between sending and marking resends the same key, never a new event."""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller
from conftest import ROOT

from tests.peers.util import free_port, until, wait_port, wait_until

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

SECRET = "webhook-secret"


class Receiver:
    def __init__(self, kill_first=None):
        self.keys, self.bodies, self.kill_first = [], [], kill_first
        rec = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                assert self.headers["X-Slawatch-Signature"] == good
                rec.keys.append(self.headers["Idempotency-Key"])
                rec.bodies.append(json.loads(body))
                if rec.kill_first is not None:
                    pid, rec.kill_first = rec.kill_first(), None
                    os.kill(pid, signal.SIGKILL)  # sent, never marked
                    return
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tickets"

    def stop(self):
        self.server.shutdown()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content.decode())
        return "250 OK"


def setup(tmp_path, env):
    cli = [sys.executable, "-m", "app.cli"]
    path = ROOT / "sla_rules/contracts/examples/aliyun-mail.yaml"
    subprocess.run([*cli, "contracts", "import", str(path)], cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run([*cli, "tokens", "create", "--role", "admin"], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    return cli, yaml.safe_load(path.read_text())["id"], {"Authorization": f"Bearer {token}"}


def start(cli, env, port):
    p = subprocess.Popen([*cli, "run", "--port", str(port)], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, 30)
    return p


def breach(url, auth, contract):
    # resolve_2h (aliyun-mail 2.1) reported three hours ago and still open: breached now
    started = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
    r = httpx.post(f"{url}/v1/incidents", headers=auth,
                   json={"contract_id": contract, "category": "mail_send_receive", "started_at": started})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_smtp_down_then_up_and_webhook_get_each_ticket_once(tmp_path):
    smtp_port, port = free_port(), free_port()
    receiver = Receiver()
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/t.db",
           "SLAWATCH_TICKET_INTERVAL_SECONDS": "0.5", "SLAWATCH_TICKET_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "SLAWATCH_TICKET_SMTP_TO": "support@localhost", "SLAWATCH_TICKET_WEBHOOK_URL": receiver.url,
           "SLAWATCH_TICKET_WEBHOOK_SECRET": SECRET, "SLAWATCH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    cli, contract, auth = setup(tmp_path, env)
    app = start(cli, env, port)
    box, smtp = Mailbox(), None
    try:
        iid = breach(f"http://127.0.0.1:{port}", auth, contract)
        key = f"breach:{iid}:resolve_2h"
        tickets = lambda: httpx.get(f"http://127.0.0.1:{port}/v1/tickets", headers=auth).json()["items"]
        assert wait_until(lambda: any(t["id"] == key and t["attempts"] >= 2 for t in tickets()))
        t = next(t for t in tickets() if t["id"] == key)
        assert t["state"] == "pending" and t["last_error"].startswith("smtp:")  # the mail server is down
        smtp = Controller(box, hostname="127.0.0.1", port=smtp_port)
        smtp.start()
        assert wait_until(lambda: next(t for t in tickets() if t["id"] == key)["state"] == "sent")
        time.sleep(1.5)  # more rounds: nothing is sent again
        assert receiver.keys == [key]  # the webhook got it on the first round, and only once
        mails = [m for m in box.messages if key in m]
        assert len(mails) == 1 and "Message-ID: <" in mails[0] and "text/html" in mails[0]
        payload = receiver.bodies[0]["payload"]
        assert (payload["window"], payload["clause"], payload["incident"]) == ("resolve_2h", "2.1", iid)
        assert payload["overdue_seconds"] > 3000 and payload["api"].endswith(f"/v1/incidents/{iid}")
        assert payload["link"] == f"http://127.0.0.1:{port}/portal/contracts/{contract}"
        view = httpx.get(payload["customer_link"])  # the customer's read-only page, no sign-in
        assert view.status_code == 200 and "resolve_2h" in view.text and "只读 read-only" in view.text
        assert "<form method=\"post\"" not in view.text  # no forms: it changes nothing
        assert httpx.get(payload["customer_link"] + "x").status_code == 410
    finally:
        app.terminate()
        app.wait(timeout=15)
        receiver.stop()
        if smtp is not None:
            smtp.stop()


def test_kill_between_send_and_mark_resends_the_same_key(tmp_path):
    port = free_port()
    holder = {}
    receiver = Receiver(kill_first=lambda: holder["app"].pid)
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/k.db",
           "SLAWATCH_TICKET_INTERVAL_SECONDS": "0.5", "SLAWATCH_TICKET_WEBHOOK_URL": receiver.url,
           "SLAWATCH_TICKET_WEBHOOK_SECRET": SECRET}
    cli, contract, auth = setup(tmp_path, env)
    holder["app"] = start(cli, env, port)
    try:
        iid = breach(f"http://127.0.0.1:{port}", auth, contract)
        assert wait_until(lambda: holder["app"].poll() is not None)  # killed by the receiver mid-delivery
        holder["app"] = start(cli, env, port)
        key = f"breach:{iid}:resolve_2h"
        assert wait_until(lambda: len(receiver.keys) >= 2)
        time.sleep(1.5)
        assert receiver.keys == [key, key]  # the same event twice at most; the receiver dedupes
        assert len(set(receiver.keys)) == 1
        states = {t["id"]: t["state"] for t in
                  httpx.get(f"http://127.0.0.1:{port}/v1/tickets", headers=auth).json()["items"]}
        assert states == {key: "sent"}
    finally:
        holder["app"].terminate()
        holder["app"].wait(timeout=15)
        receiver.stop()


def test_invalid_sink_config_is_a_clear_error_at_start(tmp_path):
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
           "SLAWATCH_TICKET_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
    res = subprocess.run([sys.executable, "-m", "app.cli", "run", "--port", str(free_port())], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "ticket_webhook_secret: required with ticket_webhook_url" in res.stderr
    assert "Traceback" not in res.stderr


class HungWebhook:
    """Accepts connections, reads nothing, answers nothing; counts them."""

    def __init__(self):
        import socket
        self.sock, self.held = socket.socket(), []
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def stop(self):
        self.sock.close()
        for c in self.held:
            c.close()


def test_a_hung_webhook_delays_only_its_own_tickets_and_never_the_shutdown(tmp_path):
    """Contract A's webhook accepts and never answers; contract B's breach reaches the
    mailbox at once. A shutdown in the middle of the hung send takes no time: the
    ticket stays pending, to be sent again under the same key."""
    import asyncio
    import mailbox

    from conftest import service_client

    from app.tickets.loop import TicketLoop

    box = tmp_path / "tickets.mbox"
    client, _ = service_client(f"sqlite+aiosqlite:///{tmp_path}/h.db", ticket_mbox=box)
    with client:
        client.post("/v1/customers", json={"id": "acme", "name": "Acme"})
        hung = HungWebhook()
        hook = {"webhook_url": f"http://127.0.0.1:{hung.port}/hook", "webhook_secret": "s"}
        for cid, tickets in (("a-hung", hook), ("b-fine", None)):
            assert client.post("/v1/contracts", json={"id": cid, "template": "aliyun-mail", "customer": "acme",
                                                      "tickets": tickets}).status_code == 201
            started = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
            assert client.post("/v1/incidents", json={"contract_id": cid, "category": "mail_send_receive",
                                                      "started_at": started}).status_code == 201
        state = client.app.state
        loop = TicketLoop(state.live, state.sessions, state.settings, None, state.vault)
        t0 = time.monotonic()
        running = client.portal.start_task_soon(loop.once)

        def delivered(contract):
            return box.exists() and any(contract in (m["Subject"] or "") for m in mailbox.mbox(box))
        assert wait_until(lambda: delivered("b-fine"), 5, every=0.05)
        assert time.monotonic() - t0 < 5 and not running.done()  # B is out while A's webhook still hangs
        running.result(timeout=20)  # the hung send gives up after its own timeout
        a = next(t for t in client.get("/v1/tickets", params={"contract": "a-hung"}).json()["items"])
        assert a["state"] == "pending" and "no answer within" in a["last_error"]

        async def stop_during_a_hung_send():
            stop = asyncio.Event()
            loop.backoff.clear()  # retry A now, and stop while it hangs
            before = len(hung.held)
            task = asyncio.create_task(loop.run(stop))
            assert await until(lambda: len(hung.held) > before, 10)  # the send is in flight
            t = time.monotonic()
            stop.set()
            await task
            return time.monotonic() - t
        assert client.portal.call(stop_during_a_hung_send) < 2.0
        assert next(t for t in client.get("/v1/tickets", params={"contract": "a-hung"}).json()["items"]
                    )["state"] == "pending"
        hung.stop()
