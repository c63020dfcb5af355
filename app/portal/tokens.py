"""The portal's secrets: one-time sign-in links, browser sessions and private
feed URLs. Each is 256 random bits shown once and stored as SHA-256 only
(``portal_tokens``), so neither a database dump nor a guess opens a page.

- A **link** (``slawatch portal link``, ``POST /v1/portal/links``, the demo)
  expires (default 24 h, basis: policy — an e-mail read the next morning still
  works) and is used once: redeeming it marks it used in the same statement
  that checks it, so two clicks never make two sessions.
- A **session** lives ``SESSION_LIFE`` (8 h, a shift; basis: policy) and
  carries its CSRF token; signing out deletes it.
- A **feed** URL is a customer's, read-only, until revoked (a new one replaces it).
- An **ack** link acknowledges one incident, once, within ``ACK_LIFE`` (24 h,
  basis: policy); it rides in the on-duty messages (DingTalk, WeCom, Feishu).
- A **view** is a read-only link to one contract's page for its customer, with
  no session and no forms (the link in a ticket); it expires (``VIEW_LIFE``,
  30 days, basis: policy — a month's statement is read within the next).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.service import Principal
from app.storage.tables import Customer, PortalTokenRow

LINK_LIFE = timedelta(hours=24)
MAX_LINK_LIFE = timedelta(days=7)
SESSION_LIFE = timedelta(hours=8)
VIEW_LIFE = timedelta(days=30)
ACK_LIFE = timedelta(hours=24)
PORTAL_ROLES = ("customer", "noc", "admin")


class PortalError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class PortalSession:
    principal: Principal
    csrf: str
    expires_at: datetime

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _issue(db: AsyncSession, kind: str, role: str, customer_id: str | None, life: timedelta | None,
                 csrf: str | None = None, contract_id: str | None = None, commit: bool = True,
                 incident_id: str | None = None, person_id: str | None = None) -> str:
    token = secrets.token_urlsafe(32)
    db.add(PortalTokenRow(token_hash=_digest(token), kind=kind, role=role, customer_id=customer_id, csrf=csrf,
                          contract_id=contract_id, incident_id=incident_id, person_id=person_id,
                          expires_at=_now() + life if life is not None else None))
    if commit:
        await db.commit()
    return token


async def create_link(db: AsyncSession, role: str, customer_id: str | None = None,
                      life: timedelta = LINK_LIFE) -> str:
    """A one-time sign-in link's token: a customer's (``role`` customer with its id) or staff's."""
    if role not in PORTAL_ROLES:
        raise PortalError("role", f"must be one of {', '.join(PORTAL_ROLES)}")
    if (role == "customer") != (customer_id is not None):
        raise PortalError("customer_id", "a customer link needs customer_id, and only a customer link takes one")
    if customer_id is not None and await db.get(Customer, customer_id) is None:
        raise PortalError("customer_id", f"unknown customer {customer_id!r}")
    if not timedelta(0) < life <= MAX_LINK_LIFE:
        raise PortalError("expires_in", f"must be positive and at most {MAX_LINK_LIFE.days} days")
    return await _issue(db, "link", role, customer_id, life)


def link_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/portal/link/{token}"


async def redeem_link(db: AsyncSession, token: str) -> tuple[str, PortalSession] | None:
    """A new session for a link that is unused and unexpired, or None. The check
    and the marking are one UPDATE: of two concurrent redemptions one wins."""
    now = _now()
    t = PortalTokenRow.__table__.c
    conn = await db.connection()
    row = (await conn.execute(update(PortalTokenRow)
                              .where(t.token_hash == _digest(token), t.kind == "link", t.used_at == None,  # noqa: E711
                                     t.expires_at > now)
                              .values(used_at=now).returning(t.role, t.customer_id))).first()
    if row is None:
        await db.rollback()
        return None
    return await start_session(db, Principal(f"link:{_digest(token)[:8]}", row.role, row.customer_id))


async def start_session(db: AsyncSession, who: Principal) -> tuple[str, PortalSession]:
    """A session for someone who proved who they are (a link, or an API token of a person)."""
    if who.role not in PORTAL_ROLES:
        raise PortalError("token", "a scrape token cannot sign in to the portal")
    csrf = secrets.token_urlsafe(24)
    token = await _issue(db, "session", who.role, who.customer_id, SESSION_LIFE, csrf)
    return token, PortalSession(Principal(f"portal:{_digest(token)[:8]}", who.role, who.customer_id), csrf,
                                _now() + SESSION_LIFE)


async def session_of(db: AsyncSession, token: str) -> PortalSession | None:
    row = (await db.exec(select(PortalTokenRow).where(PortalTokenRow.token_hash == _digest(token),
                                                      PortalTokenRow.kind == "session"))).first()
    if row is None or row.expires_at is None or row.expires_at <= _now():
        return None
    return PortalSession(Principal(f"portal:{row.token_hash[:8]}", row.role, row.customer_id), row.csrf,
                         row.expires_at)


async def end_session(db: AsyncSession, token: str) -> None:
    await db.exec(delete(PortalTokenRow).where(PortalTokenRow.token_hash == _digest(token),
                                               PortalTokenRow.kind == "session"))
    await db.commit()


async def feed_token(db: AsyncSession, customer_id: str) -> str:
    """A new private feed URL token for ``customer_id``; any earlier one stops working."""
    await db.exec(delete(PortalTokenRow).where(PortalTokenRow.kind == "feed",
                                               PortalTokenRow.customer_id == customer_id))
    return await _issue(db, "feed", "customer", customer_id, None)


async def feed_customer(db: AsyncSession, token: str) -> str | None:
    row = (await db.exec(select(PortalTokenRow).where(PortalTokenRow.token_hash == _digest(token),
                                                      PortalTokenRow.kind == "feed"))).first()
    return row.customer_id if row is not None else None


async def create_view(db: AsyncSession, customer_id: str, contract_id: str) -> str:
    """A read-only link to one contract for its customer; added to the caller's transaction."""
    return await _issue(db, "view", "customer", customer_id, VIEW_LIFE, contract_id=contract_id, commit=False)


async def view_of(db: AsyncSession, token: str) -> tuple[Principal, str] | None:
    """The customer and the contract a live view link shows, or None."""
    row = (await db.exec(select(PortalTokenRow).where(PortalTokenRow.token_hash == _digest(token),
                                                      PortalTokenRow.kind == "view"))).first()
    if row is None or row.expires_at is None or row.expires_at <= _now():
        return None
    return Principal(f"view:{row.token_hash[:8]}", "customer", row.customer_id), row.contract_id


async def create_ack(db: AsyncSession, incident_id: str, person_id: str | None = None) -> str:
    """A one-time link that acknowledges ``incident_id`` as ``person_id`` (the rota's
    person it is sent to, when a step pages one); added to the caller's transaction."""
    return await _issue(db, "ack", "noc", None, ACK_LIFE, incident_id=incident_id, person_id=person_id,
                        commit=False)


async def ack_of(db: AsyncSession, token: str, use: bool) -> tuple[str, str | None] | None:
    """The incident and person of a live, unused ack link (``use``: marked used in the same statement)."""
    t, now = PortalTokenRow.__table__.c, _now()
    live = (t.token_hash == _digest(token), t.kind == "ack", t.used_at == None, t.expires_at > now)  # noqa: E711
    conn = await db.connection()
    if not use:
        row = (await conn.execute(select(t.incident_id, t.person_id).where(*live))).first()
    else:
        row = (await conn.execute(update(PortalTokenRow).where(*live).values(used_at=now)
                                  .returning(t.incident_id, t.person_id))).first()
    return (row.incident_id, row.person_id) if row is not None else None


async def purge_expired(db: AsyncSession) -> int:
    """Expired links and sessions removed (the retention round)."""
    t = PortalTokenRow.__table__.c
    gone = await (await db.connection()).execute(
        delete(PortalTokenRow).where(t.expires_at != None, t.expires_at <= _now()))  # noqa: E711
    await db.commit()
    return gone.rowcount or 0
