"""Ticket sinks: SMTP (aiosmtplib; text and HTML, a stable Message-ID per event so
replies thread and duplicates are recognisable) and a webhook (httpx; JSON,
``Idempotency-Key``, HMAC-SHA256 signature). Without a sink, tickets go to the log."""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import mailbox
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib
import httpx

from app.notify.registry import channels_from

log = logging.getLogger("slawatch.tickets")
SIGNATURE_HEADER = "X-Slawatch-Signature"


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@slawatch>"


def subject(t: dict) -> str:
    p = t["payload"]
    what = {"window_breached": "breached", "window_warning": "close to its deadline",
            "major_incident": "major incident", "termination_right": "termination right granted",
            "ledger_deadline": f"{p.get('deadline_name')} due {p.get('deadline')}",
            "evaluation_error": f"cannot be evaluated ({p.get('reason')})",
            "escalation": f"escalated at {p.get('step')} to {p.get('to')}",
            "still_open": f"still open, unacknowledged, after {p.get('open_minutes')} min",
            "unrouted_alert": f"alerts name no known contract ({p.get('contract_label') or 'no label'})"}[t["kind"]]
    who = t["contract_id"] or "operator"
    return f"[slawatch] {who}: {p.get('window') or t.get('incident_id') or ''} {what}".replace("  ", " ")


def text_body(t: dict) -> str:
    lines = [subject(t), ""] + [f"{k}: {v}" for k, v in t["payload"].items() if v is not None]
    return "\n".join(lines) + "\n"


def email(t: dict, sender: str, to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject(t)
    msg["Message-ID"] = message_id(t["id"])
    msg["X-Slawatch-Ticket"] = t["id"]
    msg.set_content(text_body(t))
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in t["payload"].items() if v is not None)
    msg.add_alternative(f"<h3>{html.escape(subject(t))}</h3><table>{rows}</table>", subtype="html")
    return msg


class SmtpSink:
    name = "smtp"

    def __init__(self, url: str, to: str, sender: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 25
        self.starttls = parts.scheme == "smtp+starttls"
        self.to, self.sender = to, sender

    async def send(self, t: dict) -> None:
        await aiosmtplib.send(email(t, self.sender, self.to), hostname=self.host, port=self.port,
                              start_tls=self.starttls, timeout=10)


class MboxSink:
    """A local mailbox file (mbox), readable with ``mail -f`` or any mail client:
    for a desk without a mail server, and the demo of ``make run``."""
    name = "mbox"

    def __init__(self, path: Path, to: str, sender: str):
        self.path, self.to, self.sender = path, to, sender

    async def send(self, t: dict) -> None:
        box = mailbox.mbox(self.path)
        box.lock()
        try:
            box.add(email(t, self.sender, self.to))
            box.flush()
        finally:
            box.unlock()
            box.close()


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, secret: str):
        self.url, self.secret = url, secret.encode()

    async def send(self, t: dict) -> None:
        body = json.dumps(t, ensure_ascii=False, sort_keys=True).encode()
        sig = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(self.url, content=body, headers={
                "Content-Type": "application/json", "Idempotency-Key": t["id"], SIGNATURE_HEADER: f"sha256={sig}"})
        if r.status_code >= 300:
            raise RuntimeError(f"webhook answered {r.status_code}")


class LogSink:
    name = "log"

    async def send(self, t: dict) -> None:
        log.warning("TICKET %s — %s", t["id"], subject(t))


def sinks_from(settings, policy=None) -> list:
    """The global sinks, with a contract's own mailbox and webhook where it sets them."""
    out = []
    smtp_to = (policy.smtp_to if policy and policy.smtp_to else None) or settings.ticket_smtp_to
    if settings.ticket_smtp_url and smtp_to:
        out.append(SmtpSink(settings.ticket_smtp_url, smtp_to, settings.ticket_smtp_from))
    if settings.ticket_mbox is not None:
        out.append(MboxSink(settings.ticket_mbox, smtp_to or "support@localhost", settings.ticket_smtp_from))
    if policy is not None and policy.webhook_url:
        out.append(WebhookSink(policy.webhook_url, policy.webhook_secret))
    elif settings.ticket_webhook_url:
        out.append(WebhookSink(settings.ticket_webhook_url, settings.ticket_webhook_secret))
    out += channels_from(settings)  # DingTalk, WeCom, Feishu: the on-duty channels
    return out or [LogSink()]
