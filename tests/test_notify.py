"""On-duty channels against loopback servers that implement each vendor's documented
contract: DingTalk's signed URL (HMAC-SHA256 of ``timestamp\\nsecret``, base64,
URL-encoded; errcode 130101 when sending too fast), WeCom's group robot (markdown
within 4,096 bytes), Feishu's signed card (HMAC-SHA256 keyed with
``timestamp\\nsecret`` over nothing; code 19021 for a bad sign). Signatures are
checked against vectors computed with openssl. Then the round trip on a running
``slawatch run``: a breach → a DingTalk message → its acknowledge link → the
incident acknowledged, its respond window met, the link used up."""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest
import yaml
from conftest import ROOT, TEST_SECRET_KEY

from tests.peers.util import free_port, wait_port, wait_until

DING_SECRET, FEISHU_SECRET = "SECexample0123456789", "feishu-secret-xyz"


def test_signatures_match_the_documented_algorithms():
    from app.notify.dingtalk import sign as ding
    from app.notify.feishu import sign as feishu

    # printf '1700000000000\nSECexample0123456789' | openssl dgst -sha256 -hmac SECexample0123456789 -binary | base64
    assert ding(DING_SECRET, 1700000000000) == quote_plus("figG6qqCA/lRh0hsGCW2zNtNV5znkAFut5BI0zKhqnQ=")
    # printf '' | openssl dgst -sha256 -hmac "$(printf '1700000000\nfeishu-secret-xyz')" -binary | base64
    assert feishu(FEISHU_SECRET, 1700000000) == "RpXbw7bncheMXKEHLeETmnhcqsBrZOUBOwyPTuLV4ic="


def reply(handler: BaseHTTPRequestHandler, answer: dict) -> None:
    """A JSON answer, as the vendors send theirs."""
    data = json.dumps(answer).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class Vendor(BaseHTTPRequestHandler):
    """DingTalk, WeCom and Feishu robots by path, as their documentation describes them
    (and a plain HTTP SMS API at /sms that answers "OK" to its key)."""
    got: list = []
    too_fast = 0  # DingTalk answers "send too fast" this many times first

    def log_message(self, *args):
        pass

    def do_GET(self):
        q = parse_qs(urlsplit(self.path).query)
        Vendor.got.append(("sms", q, None))
        data = b"OK 1 queued" if q.get("key") == ["k1"] else b"ERR bad key"
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        answer = {"dingtalk": self.dingtalk, "wecom": self.wecom, "feishu": self.feishu}[url.path.strip("/")](q, body)
        Vendor.got.append((url.path.strip("/"), body, answer))
        reply(self, answer)

    def dingtalk(self, q, body):
        ts = q["timestamp"][0]
        expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                             hashlib.sha256).digest()).decode()
        if q["sign"][0] != expected or abs(time.time() * 1000 - int(ts)) > 3600_000:
            return {"errcode": 310000, "errmsg": "sign not match"}
        if body.get("msgtype") != "markdown" or not body["markdown"].get("title") or not body["markdown"].get("text"):
            return {"errcode": 40035, "errmsg": "缺少参数 json"}
        if Vendor.too_fast:
            Vendor.too_fast -= 1
            return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        return {"errcode": 0, "errmsg": "ok"}

    def wecom(self, q, body):
        if q.get("key") != ["robot-key"]:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        if len(body["markdown"]["content"].encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return {"errcode": 0, "errmsg": "ok"}

    def feishu(self, q, body):
        ts = body.get("timestamp", "")
        expected = base64.b64encode(hmac.new(f"{ts}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
        if body.get("sign") != expected or abs(time.time() - int(ts or 0)) > 3600:
            return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        if body.get("msg_type") != "interactive" or "header" not in body.get("card", {}):
            return {"code": 9499, "msg": "Bad Request"}
        return {"code": 0, "msg": "success"}


@pytest.fixture
def vendor():
    Vendor.got, Vendor.too_fast = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Vendor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


TICKET = {"id": "breach:inc-1:respond_1h", "kind": "window_breached", "contract_id": "demo-ningbo-colo",
          "customer_id": "acme", "incident_id": "inc-1",
          "payload": {"window": "respond_1h", "clause": "五.6", "original": "对出现的常规故障作出快速响应(在一小时内响应)",
                      "deadline": "2026-11-30T02:00:00+00:00", "ack_link": "http://127.0.0.1:8000/portal/ack/x",
                      "link": "http://127.0.0.1:8000/portal/contracts/demo-ningbo-colo"}}


def test_each_channel_sends_what_its_vendor_accepts(vendor):
    import asyncio

    from app.notify.dingtalk import DingTalk
    from app.notify.feishu import Feishu
    from app.notify.wecom import WeComRobot

    Vendor.too_fast = 1
    ding = DingTalk(f"{vendor}/dingtalk?access_token=t", DING_SECRET, mobiles=("13800000000",))
    with pytest.raises(RuntimeError, match="errcode=130101"):  # a failure: the outbox's backoff tries again
        asyncio.run(ding.send(TICKET))
    asyncio.run(ding.send(TICKET))
    long = {**TICKET, "payload": {**TICKET["payload"], "original": "很长的条款" * 600}}  # ~9,000 bytes
    asyncio.run(WeComRobot(f"{vendor}/wecom?key=robot-key", user_ids=("zhangsan",)).send(long))
    asyncio.run(Feishu(f"{vendor}/feishu", FEISHU_SECRET).send(TICKET))
    with pytest.raises(RuntimeError, match="code=19021"):
        asyncio.run(Feishu(f"{vendor}/feishu", "wrong-secret").send(TICKET))
    answers = [(path, a.get("errcode", a.get("code"))) for path, _, a in Vendor.got]
    assert answers == [("dingtalk", 130101), ("dingtalk", 0), ("wecom", 0), ("feishu", 0), ("feishu", 19021)]
    ding_body, wecom_body, card = Vendor.got[1][1], Vendor.got[2][1], Vendor.got[3][1]["card"]
    text = ding_body["markdown"]["text"]
    assert "五.6 对出现的常规故障作出快速响应(在一小时内响应)" in text and "2026-11-30 10:00:00" in text  # Beijing time
    assert "[确认 Acknowledge](http://127.0.0.1:8000/portal/ack/x)" in text and "@13800000000" in text
    assert ding_body["at"] == {"atMobiles": ["13800000000"], "atUserIds": [], "isAtAll": False}
    content = wecom_body["markdown"]["content"]
    assert len(content.encode()) <= 4096 and content.endswith("[确认 Acknowledge](http://127.0.0.1:8000/portal/ack/x)")
    assert "<@zhangsan>" in content and "…" in content  # cut, but who is paged and the link kept
    assert card["header"]["template"] == "red" and card["elements"][1]["actions"][0]["url"].endswith("/portal/ack/x")


@pytest.mark.peers
def test_a_breach_reaches_dingtalk_and_its_link_acknowledges_the_incident(vendor, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/n.db",
           "SLAWATCH_PUBLIC_URL": base, "SLAWATCH_DATA_DIR": str(tmp_path / "data"),
           "SLAWATCH_TICKET_INTERVAL_SECONDS": "0.5", "SLAWATCH_TICKET_WARN_PERCENT": "0",
           "SLAWATCH_NOTIFY_DINGTALK_URL": f"{vendor}/dingtalk?access_token=t",
           "SLAWATCH_NOTIFY_DINGTALK_SECRET": DING_SECRET, "SLAWATCH_SECRET_KEY": TEST_SECRET_KEY}
    cli = [sys.executable, "-m", "app.cli"]
    token = subprocess.run([*cli, "tokens", "create", "--role", "admin"], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen([*cli, "run", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_port(port, 30)
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        body = yaml.safe_load((ROOT / "sla_rules/contracts/examples/ningbo-colo.yaml").read_text())
        api.post("/v1/customers", json={"id": body["customer"], "name": "Demo"})
        body["tickets"] = {"escalation": {"steps": [{"at": "breach", "to": "lead"}]},  # sla_rules/oncall.yaml: lina
                           # and the contract's own robot (its customer's group), its secret sealed
                           "channels": {"dingtalk": {"url": f"{vendor}/dingtalk?access_token=contract",
                                                     "secret": DING_SECRET}}}
        made = api.post("/v1/contracts", json=body)
        assert made.status_code == 201, made.text
        shown = api.get(f"/v1/contracts/{body['id']}").json()["tickets"]["channels"]["dingtalk"]
        assert shown["secret"] == "***set***"  # write-only
        started = (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat()  # notify (5 min) breached
        iid = api.post("/v1/incidents", json={"contract_id": body["id"], "category": "server_fault",
                                              "started_at": started}).json()["id"]
        escalated = lambda: [b for p, b, a in Vendor.got if p == "dingtalk" and a["errcode"] == 0
                             and "升级 escalated" in b["markdown"]["title"]]
        assert wait_until(lambda: escalated(), 30)
        text = escalated()[0]["markdown"]["text"]
        assert "**值班 On duty**: 李娜" in text and escalated()[0]["at"]["atMobiles"] == ["13800000002"]
        link = text.split("[确认 Acknowledge](")[1].split(")")[0]
        assert link.startswith(f"{base}/portal/ack/")
        assert httpx.get(link).status_code == 200  # opening it changes nothing
        windows = {w["window"]: w["status"] for w in api.get(f"/v1/incidents/{iid}").json()["windows"]}
        assert windows["respond_1h"] == "running"
        done = httpx.post(link)
        assert done.status_code == 200 and "ack-done" in done.text
        incident = api.get(f"/v1/incidents/{iid}").json()
        assert {w["window"]: w["status"] for w in incident["windows"]}["respond_1h"] == "met"
        assert any(e["kind"] == "acknowledged" and e["actor"] == "noc:ack-link:lina"  # as the person paged
                   for e in incident["timeline"])
        pages = [e for e in incident["timeline"] if e["kind"] == "paged"]  # every message sent, on the timeline
        assert pages and all(e["note"].startswith("dingtalk: errcode=0") for e in pages)
        assert httpx.post(link).status_code == 410  # used once
        # no further escalation for it: a second incident's pages come, the first's stop
        pages = lambda i: {t["id"] for t in api.get("/v1/tickets").json()["items"]
                           if t["kind"] == "escalation" and t["incident_id"] == i}
        before = pages(iid)
        other = api.post("/v1/incidents", json={"contract_id": body["id"], "category": "server_fault",
                                                "started_at": started}).json()["id"]
        assert wait_until(lambda: pages(other), 30)
        assert pages(iid) == before
        sent = api.get("/v1/notifications").json()["items"]
        for channel in ("dingtalk", "dingtalk:contract"):  # the global robot and the contract's own
            assert any(n["channel"] == channel and n["delivered"] and n["answer"].startswith("errcode=0")
                       for n in sent), channel
        customer = subprocess.run([*cli, "tokens", "create", "--role", "customer", "--customer", body["customer"]],
                                  cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.strip()
        theirs = httpx.get(f"{base}/v1/tickets", headers={"Authorization": f"Bearer {customer}"}).json()["items"]
        assert theirs and all("ack_link" not in t["payload"] and "_answers" not in t["payload"] for t in theirs)
        # the CLI's test message, through the same robot
        out = subprocess.run([*cli, "notify", "test", "dingtalk", "--to", "zhangwei"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.strip() == "dingtalk: errcode=0 ok", out.stderr
        assert Vendor.got[-1][1]["at"]["atMobiles"] == ["13800000001"]  # the rota's person, @-mentioned
        unset = subprocess.run([*cli, "notify", "test", "feishu"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert unset.returncode == 2 and "feishu is not set up" in unset.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_page_mentions_the_people_the_rota_names():
    from app.notify.dingtalk import DingTalk
    from app.notify.feishu import Feishu
    from app.notify.wecom import WeComRobot

    page = {**TICKET, "kind": "escalation",
            "payload": {**TICKET["payload"], "step": "80%", "to": "lead",
                        "page_to": [{"id": "lina", "name": "李娜", "mobile": "13800000002", "dingtalk": "lina02",
                                     "wecom": "LiNa", "feishu": "ou_lina"}]}}
    ding = DingTalk("http://127.0.0.1:9/robot", None, mobiles=("13800000001",)).body(page)
    assert ding["at"] == {"atMobiles": ["13800000001", "13800000002"], "atUserIds": ["lina02"], "isAtAll": False}
    assert "**值班 On duty**: 李娜" in ding["markdown"]["text"] and "升级 escalated" in ding["markdown"]["title"]
    assert "<@LiNa>" in WeComRobot("http://127.0.0.1:9/robot").body(page)["markdown"]["content"]
    card = Feishu("http://127.0.0.1:9/robot").body(page)["card"]
    contents = [f["text"]["content"] for f in card["elements"][0]["fields"]]
    assert '<at id="ou_lina"></at>' in contents and card["header"]["template"] == "orange"


def test_an_sms_page_is_one_chinese_segment_without_links():
    from app.notify.sms import sms_text

    t = {"kind": "escalation", "contract_id": "demo-ningbo-colo",
         "payload": {"window": "respond_1h", "deadline": "2026-11-30T02:00:00+00:00", "step": "breach"}}
    text = sms_text(t)
    assert text == "【SLA】demo-ningbo-colo respond_1h升级，截止11-30 10:00，请尽快确认处理" and len(text) <= 70
    assert len(sms_text({**t, "contract_id": "x" * 80})) == 70  # cut to one segment
    linky = sms_text({**t, "contract_id": "mail.example.com", "payload": {"window": "http://10.0.0.1/a"}})
    assert "http" not in linky and "10.0.0.1" not in linky and ".com" not in linky and linky.endswith("确认处理")


@pytest.mark.peers
def test_an_sms_page_goes_through_real_kannel():
    import asyncio
    import re

    from app.notify.sms import KannelPage
    from tests.peers.kannel import PASSWORD, USER, start_kannel

    kannel = start_kannel("http://127.0.0.1:9/mo")
    try:
        def sent() -> int:
            status = httpx.get(f"http://127.0.0.1:{kannel.admin}/status.txt?password=adm", timeout=5).text
            return int(re.search(r"SMS: received \d+ \(\d+ queued\), sent (\d+)", status).group(1))
        before = sent()
        page = {**TICKET, "kind": "escalation",
                "payload": {**TICKET["payload"], "sms": True, "step": "breach", "to": "manager",
                            "page_to": [{"id": "w", "name": "王芳", "mobile": "13800000003"},
                                        {"id": "l", "name": "刘洋", "mobile": "13800000004"}]}}
        asyncio.run(KannelPage(kannel.url, USER, PASSWORD).send(page))
        assert wait_until(lambda: sent() - before == 2, 15)  # one page to each mobile, through the fake SMSC
        asyncio.run(KannelPage(kannel.url, USER, PASSWORD).send(TICKET))  # no sms step, nobody paged: nothing sent
        with pytest.raises(RuntimeError, match="kannel answered"):
            asyncio.run(KannelPage(kannel.url, USER, "wrong").send(page))
        assert sent() - before == 2
    finally:
        kannel.stop()


class WeComApi(BaseHTTPRequestHandler):
    """WeCom's gettoken and message/send: a token lives until the server says it
    expired (42001), as WeCom answers for a token past its 7,200 s."""
    tokens: dict = {}
    issued = 0
    got: list = []

    def log_message(self, *args):
        pass

    def _answer(self, answer: dict) -> None:
        reply(self, answer)

    def do_GET(self):
        q = parse_qs(urlsplit(self.path).query)
        if urlsplit(self.path).path != "/cgi-bin/gettoken" or q.get("corpsecret") != ["app-secret"]:
            return self._answer({"errcode": 40001, "errmsg": "invalid credential"})
        WeComApi.issued += 1
        token = f"tok{WeComApi.issued}"
        WeComApi.tokens[token] = True
        self._answer({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        token = parse_qs(urlsplit(self.path).query).get("access_token", [""])[0]
        if not WeComApi.tokens.get(token):
            return self._answer({"errcode": 42001, "errmsg": "access_token expired"})
        WeComApi.got.append(body)
        self._answer({"errcode": 0, "errmsg": "ok", "invaliduser": ""})


def test_wecom_app_messages_the_people_paged_and_buys_a_new_token_when_one_expires():
    import asyncio

    from app.notify.wecom import WeComApp

    WeComApi.tokens, WeComApi.issued, WeComApi.got = {}, 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), WeComApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = WeComApp(f"http://127.0.0.1:{server.server_address[1]}", "corp", 1000002, "app-secret")
        page = {**TICKET, "payload": {**TICKET["payload"], "page_to": [{"id": "l", "name": "李娜", "wecom": "LiNa"},
                                                                       {"id": "z", "name": "张伟", "wecom": "ZhangWei"}]}}
        assert asyncio.run(app.send(page)) == "errcode=0 sent to LiNa|ZhangWei"
        asyncio.run(app.send(page))
        assert WeComApi.issued == 1  # the token is kept
        WeComApi.tokens["tok1"] = False  # WeCom expires it
        asyncio.run(app.send(page))
        assert WeComApi.issued == 2 and len(WeComApi.got) == 3  # bought again, and the message still went
        assert WeComApi.got[0]["agentid"] == 1000002 and WeComApi.got[0]["msgtype"] == "markdown"
        assert asyncio.run(app.send(TICKET)) == "skipped: nobody paged with a WeCom id"
        with pytest.raises(RuntimeError, match="errcode=40001"):
            asyncio.run(WeComApp(f"http://127.0.0.1:{server.server_address[1]}", "corp", 1, "wrong").send(page))
    finally:
        server.shutdown()


def test_a_team_robot_from_the_rota_with_its_secret_from_the_environment(vendor):
    import asyncio

    from app.notify.registry import team_channels
    from app.oncall.models import OnCall

    rota = OnCall.model_validate({
        "people": [{"id": "a", "name": "A"}],
        "teams": [{"id": "noc", "shifts": [{"name": "all", "days": "every_day", "start": "00:00", "end": "24:00",
                                            "people": ["a"]}],
                   "channels": {"dingtalk": {"url": f"{vendor}/dingtalk?access_token=team",
                                             "secret_env": "NOC_DINGTALK_SECRET"}}}]})
    (robot,) = team_channels(rota, "noc", {"NOC_DINGTALK_SECRET": DING_SECRET})
    assert robot.name == "dingtalk:noc"  # its own delivery record beside the global robot's
    assert asyncio.run(robot.send(TICKET)) == "errcode=0 ok"  # signed with the secret from the environment
    assert team_channels(rota, "other", {}) == [] and team_channels(None, "noc", {}) == []
    with pytest.raises(ValueError, match="secret_env"):  # never the secret itself in the file: a name
        OnCall.model_validate({**rota.model_dump(mode="json"), "teams": [{
            **rota.teams[0].model_dump(mode="json"), "channels": {"dingtalk": {"url": "http://127.0.0.1:9/",
                                                                            "secret_env": "SEC123abc"}}}]})


def test_an_sms_page_through_a_plain_http_api(vendor):
    import asyncio

    from app.notify.sms import HttpSmsPage

    page = {**TICKET, "kind": "escalation",
            "payload": {**TICKET["payload"], "sms": True, "page_to": [{"id": "w", "name": "王芳", "mobile": "13800000003"}]}}
    api = HttpSmsPage(f"{vendor}/sms?key=k1&to={{to}}&msg={{text}}", success_pattern=r"^OK")
    assert asyncio.run(api.send(page)) == "1 paged: OK 1 queued"
    (_, q, _), = Vendor.got
    assert q["to"] == ["13800000003"] and q["msg"][0].startswith("【SLA】demo-ningbo-colo respond_1h")
    with pytest.raises(RuntimeError, match="ERR bad key"):
        asyncio.run(HttpSmsPage(f"{vendor}/sms?key=no&to={{to}}&msg={{text}}", success_pattern=r"^OK").send(page))


def test_a_bad_channel_setting_names_itself():
    from pydantic import ValidationError

    from app.settings import Settings

    for bad, name in (({"notify_sms_http_template": "http://127.0.0.1:9/?to={to}&t={text}",
                        "notify_sms_http_success": "(ok"}, "notify_sms_http_success: not a regular expression"),
                      ({"notify_feishu_secret": "s"}, "notify_feishu_secret: set notify_feishu_url too"),
                      ({"notify_sms_http_template": "http://127.0.0.1:9/"}, "notify_sms_http_template: an http(s) URL")):
        with pytest.raises(ValidationError, match=re.escape(name)):
            Settings(database_url="sqlite+aiosqlite:///:memory:", **bad)
