"""WeCom (企业微信) group robot (``webhook/send?key=``): markdown with ``<@userid>``
mentions, within WeCom's 4,096-byte limit (cut, with the link kept). ``errcode``
other than 0 is a failure; 45009 (over the robot's 20 a minute) is retried by the
outbox's backoff."""
from __future__ import annotations

import time
from dataclasses import replace

import httpx

from app.notify.message import markdown, page_of

LIMIT = 4096  # bytes of markdown.content, UTF-8


def fit(text: str, tail: str, limit: int = LIMIT) -> str:
    """``text`` cut at a character boundary so that it and ``tail`` fit in ``limit`` bytes."""
    if len((text + tail).encode()) <= limit:
        return text + tail
    room = limit - len(("…" + tail).encode())
    return text.encode()[:room].decode(errors="ignore") + "…" + tail


class WeComRobot:
    name = "wecom"

    def __init__(self, url: str, user_ids: tuple[str, ...] = ()):
        self.url, self.user_ids = url, user_ids

    def body(self, t: dict) -> dict:
        page = page_of(t)
        users = dict.fromkeys([*self.user_ids, *(x["wecom"] for x in page.paged if x.get("wecom"))])
        mentions = " ".join(f"<@{u}>" for u in users)
        # what a cut must never lose: who is paged, and how to acknowledge
        tail = (f"\n{mentions}" if mentions else "") + (f"\n[确认 Acknowledge]({page.ack_link})" if page.ack_link
                                                         else "")
        text = markdown(replace(page, ack_link=None))
        return {"msgtype": "markdown", "markdown": {"content": fit(text, tail)}}

    async def send(self, t: dict) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(self.url, json=self.body(t))
        answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code >= 300 or answer.get("errcode") != 0:
            raise RuntimeError(f"wecom answered {r.status_code} errcode={answer.get('errcode')} "
                               f"{str(answer.get('errmsg'))[:200]}")
        return f"errcode=0 {answer.get('errmsg', '')}"


class WeComApp:
    """WeCom application messages (应用消息) straight to the people paged: corpid and
    the app's secret buy an access token (``gettoken``), kept until shortly before it
    expires and bought again when WeCom says it expired (42001) or is invalid (40014)."""
    name = "wecom_app"
    STALE = (40014, 42001)

    def __init__(self, base: str, corpid: str, agentid: int, secret: str):
        self.base, self.corpid, self.agentid, self.secret = base.rstrip("/"), corpid, agentid, secret
        self.token: tuple[str, float] | None = None  # (token, monotonic expiry)

    async def _token(self, client: httpx.AsyncClient, fresh: bool = False) -> str:
        if fresh or self.token is None or time.monotonic() >= self.token[1]:
            r = await client.get(f"{self.base}/cgi-bin/gettoken", params={"corpid": self.corpid,
                                                                            "corpsecret": self.secret})
            answer = r.json()
            if answer.get("errcode") != 0:
                raise RuntimeError(f"wecom gettoken answered errcode={answer.get('errcode')} "
                                   f"{str(answer.get('errmsg'))[:200]}")
            # a minute early: a token never expires in flight
            self.token = (answer["access_token"], time.monotonic() + max(int(answer.get("expires_in", 7200)) - 60, 0))
        return self.token[0]

    async def send(self, t: dict) -> str:
        page = page_of(t)
        users = [x["wecom"] for x in page.paged if x.get("wecom")]
        if not users:
            return "skipped: nobody paged with a WeCom id"
        body = {"touser": "|".join(users), "msgtype": "markdown", "agentid": self.agentid,
                "markdown": {"content": fit(markdown(replace(page, ack_link=None)),
                                            f"\n[确认 Acknowledge]({page.ack_link})" if page.ack_link else "")}}
        async with httpx.AsyncClient(timeout=10) as client:
            for fresh in (False, True):
                token = await self._token(client, fresh)
                r = await client.post(f"{self.base}/cgi-bin/message/send", params={"access_token": token}, json=body)
                answer = r.json()
                if answer.get("errcode") not in self.STALE:
                    break
        if answer.get("errcode") != 0:
            raise RuntimeError(f"wecom app answered errcode={answer.get('errcode')} {str(answer.get('errmsg'))[:200]}")
        return f"errcode=0 sent to {body['touser']}"
