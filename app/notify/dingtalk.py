"""DingTalk (钉钉) custom robot: a markdown message, @-mentions by mobile or user id,
signed as DingTalk documents it — ``timestamp`` in ms, ``sign`` = URL-encoded
base64 of HMAC-SHA256 over ``timestamp + "\\n" + secret`` keyed with the secret.
``errcode`` other than 0 is a failure; 130101 (sending too fast: 20 a minute per
robot) is retried by the outbox's backoff."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

import httpx

from app.notify.message import markdown, page_of

RATE_LIMITED = 130101


def sign(secret: str, timestamp_ms: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(mac))


class DingTalk:
    name = "dingtalk"

    def __init__(self, url: str, secret: str | None = None, mobiles: tuple[str, ...] = (),
                 user_ids: tuple[str, ...] = ()):
        self.url, self.secret, self.mobiles, self.user_ids = url, secret, mobiles, user_ids

    def body(self, t: dict) -> dict:
        page = page_of(t)
        # the channel's own mentions, and whoever the rota pages for this message
        mobiles = list(dict.fromkeys([*self.mobiles, *(x["mobile"] for x in page.paged if x.get("mobile"))]))
        users = list(dict.fromkeys([*self.user_ids, *(x["dingtalk"] for x in page.paged if x.get("dingtalk"))]))
        mentions = " ".join([f"@{m}" for m in mobiles] + [f"@{u}" for u in users])
        return {"msgtype": "markdown",
                "markdown": {"title": page.title, "text": markdown(page) + (f"\n\n{mentions}" if mentions else "")},
                "at": {"atMobiles": mobiles, "atUserIds": users, "isAtAll": False}}

    def signed_url(self, now_ms: int | None = None) -> str:
        if not self.secret:
            return self.url
        ts = now_ms if now_ms is not None else int(time.time() * 1000)
        return f"{self.url}{'&' if '?' in self.url else '?'}timestamp={ts}&sign={sign(self.secret, ts)}"

    async def send(self, t: dict) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(self.signed_url(), json=self.body(t))
        answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code >= 300 or answer.get("errcode") != 0:
            raise RuntimeError(f"dingtalk answered {r.status_code} errcode={answer.get('errcode')} "
                               f"{str(answer.get('errmsg'))[:200]}")
        return f"errcode=0 {answer.get('errmsg', '')}"
