"""SMS pages through the provider's own Kannel (``cgi-bin/sendsms``, the gateway
the SMS probe uses) to the mobiles an escalation step pages (``sms: true``). The
text is Chinese, one 70-character segment (UCS-2) where it fits, and carries no
URL or IP address — carriers refuse template variables that do — so it names the
contract and the window and asks for the acknowledgement in the chat channel."""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

import httpx

from app.notify.message import BEIJING, KIND

SEGMENT = 70  # characters of one UCS-2 SMS
_LINKLIKE = re.compile(r"(https?://[\x21-\x7e]+|\b\d{1,3}(?:\.\d{1,3}){3}\b|[A-Za-z0-9.-]+\.(?:com|cn|net|org)\b)",
                       re.I)


def sms_text(t: dict) -> str:
    p = t["payload"]
    due = ""
    if p.get("deadline"):
        due = "截止" + datetime.fromisoformat(p["deadline"]).astimezone(BEIJING).strftime("%m-%d %H:%M")
    kind = KIND.get(t["kind"], t["kind"]).split(" ")[0]
    text = f"【SLA】{t['contract_id']} {p.get('window') or ''}{kind}{('，' + due) if due else ''}，请尽快确认处理"
    text = _LINKLIKE.sub("", text)
    return text if len(text) <= SEGMENT else text[:SEGMENT - 1] + "…"


class KannelPage:
    name = "sms"

    def __init__(self, url: str, username: str, password: str, sender: str | None = None):
        self.url, self.username, self.password, self.sender = url.rstrip("/"), username, password, sender

    async def send(self, t: dict) -> str:
        p = t["payload"]
        mobiles = [x["mobile"] for x in p.get("page_to") or () if x.get("mobile")]
        if not p.get("sms") or not mobiles:
            return "skipped: nothing to page by SMS"  # only an escalation step that asks for it texts anyone
        text = sms_text(t)
        async with httpx.AsyncClient(timeout=10) as client:
            for mobile in mobiles:
                params = {"username": self.username, "password": self.password, "to": mobile, "text": text,
                          "coding": "2", "charset": "UTF-8"}
                if self.sender:
                    params["from"] = self.sender
                r = await client.get(f"{self.url}/cgi-bin/sendsms", params=params)
                if r.status_code not in (200, 202):
                    raise RuntimeError(f"kannel answered {r.status_code} for a page: {r.text[:200]}")
        return f"{len(mobiles)} paged: {r.text.strip()[:100]}"


class HttpSmsPage:
    """The same pages through any HTTP SMS API: ``url_template`` with ``{to}`` and
    ``{text}`` (filled in URL-encoded; the template may hold the API's key, so it is
    a secret), GET or POST, success when the answer matches ``success_pattern``."""
    name = "sms_http"

    def __init__(self, url_template: str, method: str = "GET", success_pattern: str = ".*"):
        self.url_template, self.method, self.success = url_template, method, re.compile(success_pattern, re.S)

    async def send(self, t: dict) -> str:
        p = t["payload"]
        mobiles = [x["mobile"] for x in p.get("page_to") or () if x.get("mobile")]
        if not p.get("sms") or not mobiles:
            return "skipped: nothing to page by SMS"
        text = sms_text(t)
        async with httpx.AsyncClient(timeout=10) as client:
            for mobile in mobiles:
                r = await client.request(self.method, self.url_template.format(to=quote(mobile), text=quote(text)))
                if r.status_code >= 300 or not self.success.search(r.text[:10_000]):
                    raise RuntimeError(f"SMS API answered {r.status_code}: {r.text[:200]}")
        return f"{len(mobiles)} paged: {r.text.strip()[:100]}"
