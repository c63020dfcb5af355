"""Feishu (飞书) / Lark custom bot: an interactive card — header coloured by
severity, the clause, the deadline and time left, buttons to acknowledge and to
open the page — signed as Feishu documents it: ``timestamp`` in seconds, ``sign``
= base64 of HMAC-SHA256 keyed with ``timestamp + "\\n" + secret`` over an empty
message. ``code`` other than 0 is a failure. The same for Feishu's and Lark's host."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx

from app.notify.message import page_of


def sign(secret: str, timestamp_s: int) -> str:
    return base64.b64encode(hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


class Feishu:
    name = "feishu"

    def __init__(self, url: str, secret: str | None = None):
        self.url, self.secret = url, secret

    def body(self, t: dict, now_s: int | None = None) -> dict:
        page = page_of(t)
        fields = [{"is_short": False, "text": {"tag": "lark_md", "content": f"**{k}** {v}" if k else v}}
                  for k, v in page.lines]
        ats = "".join(f'<at id="{x["feishu"]}"></at>' for x in page.paged if x.get("feishu"))
        if ats:  # the people the rota pages, @-mentioned in the card
            fields.append({"is_short": False, "text": {"tag": "lark_md", "content": ats}})
        buttons = [{"tag": "button", "text": {"tag": "plain_text", "content": text}, "type": kind, "url": url}
                   for text, kind, url in (("确认 Acknowledge", "primary", page.ack_link),
                                           ("详情 Details", "default", page.link)) if url]
        card = {"config": {"wide_screen_mode": True},
                "header": {"template": page.severity, "title": {"tag": "plain_text", "content": page.title}},
                "elements": [{"tag": "div", "fields": fields}] + ([{"tag": "action", "actions": buttons}]
                                                                 if buttons else [])}
        body = {"msg_type": "interactive", "card": card}
        if self.secret:
            ts = now_s if now_s is not None else int(time.time())
            body = {"timestamp": str(ts), "sign": sign(self.secret, ts), **body}
        return body

    async def send(self, t: dict) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(self.url, json=self.body(t))
        answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        code = answer.get("code", answer.get("StatusCode"))
        if r.status_code >= 300 or code != 0:
            raise RuntimeError(f"feishu answered {r.status_code} code={code} {str(answer.get('msg'))[:200]}")
        return f"code=0 {answer.get('msg', '')}"
