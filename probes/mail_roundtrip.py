"""Mail round trip: send a message with a unique nonce header through SMTP, poll
IMAP or POP3 until it arrives, delete it. Reports ``send`` and ``deliver``
latency — "mail is sent and received normally" (xiamen-mail 乙方 2) as the
customer sees it."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parsedate_to_datetime

from pydantic import Field, model_validator

from probes import imap as imap_mod
from probes import pop3 as pop3_mod
from probes.net import TargetModel, close
from probes.registry import Prober
from probes.result import ProbeFailure, ProbeResult, Run, guarded
from probes.smtp import SmtpTarget, open_smtp, smtp_error

NONCE_HEADER = "X-Slawatch-Nonce"
# a probe message older than this (by its Date) is a leftover of a failed or late
# round trip: the next round trip deletes it, so the mailbox never fills (basis: policy;
# well past any round trip's timeout, and never another location's message in flight)
STALE = timedelta(days=1)


def _stale_date(now: datetime) -> str:
    """IMAP's SENTBEFORE date: messages dated before it are at least ``STALE`` old."""
    return (now - STALE).strftime("%d-%b-%Y")


class MailRoundtripTarget(TargetModel):
    smtp: SmtpTarget
    mail_from: str
    rcpt_to: str
    imap: imap_mod.ImapTarget | None = None
    pop3: pop3_mod.Pop3Target | None = None
    poll_interval: float = Field(0.5, gt=0)

    @model_validator(mode="after")
    def _one_mailbox(self):
        if (self.imap is None) == (self.pop3 is None):
            raise ValueError("give exactly one of imap or pop3 to receive with")
        return self


def message(t: MailRoundtripTarget, nonce: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = t.mail_from, t.rcpt_to
    msg["Subject"] = f"slawatch round trip {nonce}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="slawatch.probe")
    msg[NONCE_HEADER] = nonce
    msg.set_content(f"slawatch probe message {nonce}; it deletes itself on arrival.\n")
    return msg


async def _found_imap(run: Run, t: imap_mod.ImapTarget, nonce: str, interval: float, timeout: float) -> None:
    client = imap_mod.new_client(run, t, timeout)

    async def session() -> None:
        await imap_mod.login(run, client, t)
        run.phase("deliver")
        while True:
            res = await client.uid_search(f"HEADER {NONCE_HEADER} {nonce}")
            uids = res.lines[0].split() if res.result == "OK" and res.lines else []
            if uids:
                # with our own message, the leftovers of earlier round trips go too
                old = await client.uid_search(f'HEADER {NONCE_HEADER} "" SENTBEFORE {_stale_date(run.started_at)}')
                stale = old.lines[0].split() if old.result == "OK" and old.lines else []
                run.detail["stale_deleted"] = len(stale)
                await client.uid("store", b",".join([*uids, *stale]).decode(), "+FLAGS", r"(\Deleted)")
                await client.expunge()
                await client.logout()
                return
            await asyncio.sleep(interval)
            await client.noop()  # lets the server report new mail
    try:
        await imap_mod.bounded(client, session())
    finally:
        imap_mod.drop(client)


async def _found_pop3(run: Run, t: pop3_mod.Pop3Target, nonce: str, interval: float) -> None:
    marker = f"{NONCE_HEADER}: {nonce}".lower().encode()
    while True:
        pop, writer = await pop3_mod.open_pop3(run, t)  # a POP3 session sees the maildrop as at login
        try:
            run.phase("deliver")
            found, stale = None, []
            for line in await pop.multiline("LIST", "pop3:list_failed"):
                number = line.split()[0].decode()
                head = await pop.multiline(f"TOP {number} 0", "pop3:top_failed")
                if any(h.lower() == marker for h in head):
                    found = number
                elif _leftover(head, run.started_at):
                    stale.append(number)
            if found is not None:
                for number in [found, *stale]:  # with our own message, the leftovers of earlier round trips
                    await pop.cmd(f"DELE {number}", "pop3:dele_failed")
                run.detail["stale_deleted"] = len(stale)
                await pop.quit()
                return
            await pop.quit()
        finally:
            close(writer)
        await asyncio.sleep(interval)


def _leftover(head: list[bytes], now: datetime) -> bool:
    """A probe message (our header) dated more than ``STALE`` ago."""
    prefix, date = f"{NONCE_HEADER.lower()}:".encode(), None
    if not any(h.lower().startswith(prefix) for h in head):
        return False
    for h in head:
        if h.lower().startswith(b"date:"):
            try:
                date = parsedate_to_datetime(h[5:].decode(errors="replace").strip())
            except (TypeError, ValueError):
                return False
    return date is not None and date.tzinfo is not None and now - date > STALE


async def probe(target: MailRoundtripTarget, timeout: float) -> ProbeResult:
    run = Run()
    nonce = uuid.uuid4().hex

    def translate(exc: BaseException) -> str | None:
        if isinstance(exc, TimeoutError) and run.current in ("deliver", "banner", "auth") and "send" in run.phases:
            return "not_delivered"
        return smtp_error(exc)

    async def body() -> ProbeResult:
        client = await open_smtp(run, target.smtp, timeout)
        msg = message(target, nonce)
        run.phase("send")
        errors, _ = await client.send_message(msg, sender=target.mail_from, recipients=[target.rcpt_to])
        if errors:
            raise ProbeFailure("smtp:rejected", rejected=str(errors)[:200])
        await client.quit()
        run.detail.update(message_id=msg["Message-ID"], nonce=nonce)
        if target.imap is not None:
            await _found_imap(run, target.imap, nonce, target.poll_interval, timeout)
        else:
            await _found_pop3(run, target.pop3, nonce, target.poll_interval)
        return run.ok()

    result = await guarded(run, body, timeout, translate)
    if not result.ok and result.error and result.error != "not_delivered" and not result.error.startswith(LEGS):
        # which leg failed: sending (smtp) or fetching (imap/pop3) — "refused" alone says neither
        leg = "smtp" if "send" not in run.phases else ("imap" if target.imap is not None else "pop3")
        result.error = f"{leg}:{result.error}"
    return result


LEGS = ("smtp:", "imap:", "pop3:")


PROBER = Prober("mail_roundtrip", MailRoundtripTarget, probe, from_module=None)  # stored targets only
