"""The demo mailbox: SMTP (aiosmtpd) delivers into one in-memory maildrop that a
small IMAP4rev1 server serves — the subset a mail client's round trip needs
(LOGIN, SELECT, SEARCH ALL/HEADER, STORE, EXPUNGE, NOOP, LOGOUT, UID forms).
``slawatch demo break mail`` makes both refuse service (SMTP 421, IMAP BYE)."""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import SMTP

from app.demo.state import Demo

USER, PASSWORD, ADDRESS = "demo", "demo", "demo@demo.slawatch"
TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\S+)')
IDLE_SECONDS = 300


@dataclass
class Message:
    uid: int
    raw: bytes
    headers: object
    flags: set = field(default_factory=set)


class Maildrop:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.next_uid = 1

    def deliver(self, raw: bytes) -> None:
        self.messages.append(Message(self.next_uid, raw, BytesHeaderParser().parsebytes(raw)))
        self.next_uid += 1


class Delivery:
    """aiosmtpd handler: the demo address only; everything else is refused."""

    def __init__(self, drop: Maildrop):
        self.drop = drop

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.lower() != ADDRESS:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.drop.deliver(envelope.original_content or envelope.content)
        return "250 2.0.0 delivered"


class Refuse(asyncio.Protocol):
    """A broken service: one line, then the connection closes."""

    def __init__(self, line: bytes):
        self.line = line

    def connection_made(self, transport):
        transport.write(self.line)
        transport.close()


def _words(line: bytes) -> list[str]:
    return [(q.replace(b'\\"', b'"').replace(b"\\\\", b"\\") if q or not w else w).decode(errors="replace")
            for q, w in TOKEN.findall(line)]


def _numbers(spec: str, highest: int) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        lo_n = highest if lo == "*" else int(lo)
        hi_n = lo_n if not hi else (highest if hi == "*" else int(hi))
        out.update(range(min(lo_n, hi_n), max(lo_n, hi_n) + 1))
    return out


class ImapSession:
    def __init__(self, drop: Maildrop, writer: asyncio.StreamWriter):
        self.drop, self.writer = drop, writer
        self.user: str | None = None
        self.selected = False

    def send(self, *lines: str) -> None:
        self.writer.write("".join(f"{ln}\r\n" for ln in lines).encode())

    def search(self, words: list[str], by_uid: bool) -> list[int]:
        if words[:1] and words[0].upper() == "CHARSET":
            words = words[2:]
        msgs = list(enumerate(self.drop.messages, 1))
        if len(words) == 3 and words[0].upper() == "HEADER":
            msgs = [(n, m) for n, m in msgs if words[2].lower() in str(m.headers.get(words[1], "")).lower()]
        elif words and words[0].upper() != "ALL":
            raise ValueError("only SEARCH ALL and SEARCH HEADER name value here")
        return [m.uid if by_uid else n for n, m in msgs]

    def store(self, words: list[str], by_uid: bool) -> None:
        chosen = _numbers(words[0], self.drop.next_uid if by_uid else len(self.drop.messages))
        flags = set(" ".join(words[2:]).strip("()").split())
        for n, m in enumerate(self.drop.messages, 1):
            if (m.uid if by_uid else n) in chosen:
                m.flags = m.flags | flags if words[1].startswith("+") else m.flags - flags
                self.send(f"* {n} FETCH (UID {m.uid} FLAGS ({' '.join(sorted(m.flags))}))")

    def expunge(self) -> None:
        for n in range(len(self.drop.messages), 0, -1):
            if "\\Deleted" in self.drop.messages[n - 1].flags:
                del self.drop.messages[n - 1]
                self.send(f"* {n} EXPUNGE")

    # complexity 20, kept: the demo IMAP server's command table, one branch per command it answers
    def handle(self, tag: str, command: str, words: list[str]) -> bool:
        """One command; False ends the session."""
        by_uid = command == "UID" and bool(words)
        if by_uid:
            command, words = words[0].upper(), words[1:]
        if command == "LOGOUT":
            self.send("* BYE logging out", f"{tag} OK LOGOUT completed")
            return False
        if command == "CAPABILITY":
            self.send("* CAPABILITY IMAP4rev1", f"{tag} OK CAPABILITY completed")
        elif command == "NOOP":
            self.send(f"* {len(self.drop.messages)} EXISTS", f"{tag} OK NOOP completed")
        elif command == "LOGIN" and len(words) == 2:
            self.user = words[0] if (words[0], words[1]) == (USER, PASSWORD) else None
            self.send(f"{tag} OK LOGIN completed" if self.user
                      else f"{tag} NO [AUTHENTICATIONFAILED] bad user or password")
        elif self.user is None:
            self.send(f"{tag} BAD log in first")
        elif command in ("SELECT", "EXAMINE") and words[:1] and words[0].upper() == "INBOX":
            self.selected = True
            self.send(f"* {len(self.drop.messages)} EXISTS", "* 0 RECENT", "* FLAGS (\\Deleted \\Seen)",
                      "* OK [UIDVALIDITY 1] UIDs valid", f"* OK [UIDNEXT {self.drop.next_uid}] next UID",
                      f"{tag} OK [READ-WRITE] {command} completed")
        elif command in ("SELECT", "EXAMINE"):
            self.send(f"{tag} NO no such mailbox (only INBOX)")
        elif not self.selected:
            self.send(f"{tag} BAD select a mailbox first")
        elif command == "SEARCH":
            self.send(" ".join(["* SEARCH", *map(str, self.search(words, by_uid))]), f"{tag} OK SEARCH completed")
        elif command == "STORE" and len(words) >= 3:
            self.store(words, by_uid)
            self.send(f"{tag} OK STORE completed")
        elif command == "EXPUNGE":
            self.expunge()
            self.send(f"{tag} OK EXPUNGE completed")
        else:
            self.send(f"{tag} BAD {command} is not served by the demo mailbox")
        return True


async def imap_session(drop: Maildrop, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    session = ImapSession(drop, writer)
    session.send("* OK [CAPABILITY IMAP4rev1] slawatch demo mailbox ready")
    try:
        while True:
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), IDLE_SECONDS)
            words = _words(line.strip())
            if len(words) < 2:
                break
            try:
                if not session.handle(words[0], words[1].upper(), words[2:]):
                    break
            except ValueError as exc:
                session.send(f"{words[0]} BAD {exc}")
        await writer.drain()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve_mailbox(demo: Demo) -> list[asyncio.AbstractServer]:
    drop = Maildrop()
    loop = asyncio.get_running_loop()

    def smtp():
        if demo.is_broken("mail"):
            return Refuse(b"421 4.3.2 mail service unavailable (slawatch demo break mail)\r\n")
        return SMTP(Delivery(drop), hostname="demo.slawatch", ident="slawatch demo SMTP")

    async def imap(reader, writer):
        if demo.is_broken("mail"):
            writer.write(b"* BYE mail service unavailable (slawatch demo break mail)\r\n")
            writer.close()
            return
        await imap_session(drop, reader, writer)

    return [await loop.create_server(smtp, demo.host, demo.port("smtp")),
            await asyncio.start_server(imap, demo.host, demo.port("imap"))]
