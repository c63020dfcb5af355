"""WeCom (企业微信) group robot (``webhook/send?key=``): markdown with ``<@userid>``
mentions, within WeCom's 4,096-byte limit (cut, with the link kept). ``errcode``
other than 0 is a failure; 45009 (over the robot's 20 a minute) is retried by the
outbox's backoff."""
from __future__ import annotations

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
