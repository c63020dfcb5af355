"""Tokens are random, shown once, stored as SHA-256; a customer token is bound
to one customer and sees only that customer's data. Roles: ``admin`` (every
route), ``noc`` (staff: all customers, incident actions), ``customer`` (its own
customer), ``scrape`` (Prometheus: ``/metrics`` and ``/probe`` only), ``intake``
(Alertmanager: ``POST /v1/intake/…`` only)."""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.tables import ApiToken, Customer

ROLES = ("admin", "noc", "customer", "scrape", "intake")
PREFIX = "slw_"
LAST_USED_EVERY = 60.0  # seconds: last use is written at most this often per token
MAX_LIFE = timedelta(days=3650)  # a token's longest life: ten years (no date overflow, no "forever" by accident)


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: str
    customer_id: str | None

    @property
    def is_customer(self) -> bool:
        return self.role == "customer"

    def sees(self, customer_id: str | None) -> bool:
        return not self.is_customer or customer_id == self.customer_id


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def create_token(session: AsyncSession, role: str, customer_id: str | None = None, name: str = "",
                       expires_in: timedelta | None = None) -> str:
    """Returns the token itself (the only time it exists outside the caller)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "customer") != (customer_id is not None):
        raise ValueError("a customer token needs --customer, and only a customer token takes one")
    if customer_id is not None and await session.get(Customer, customer_id) is None:
        raise ValueError(f"unknown customer {customer_id!r}")
    if expires_in is not None and not timedelta(0) < expires_in <= MAX_LIFE:
        raise ValueError(f"expires: must be in the future and at most {MAX_LIFE.days}d")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(id=secrets.token_hex(8), token_hash=digest(token), role=role, customer_id=customer_id,
                         name=name, expires_at=utcnow() + expires_in if expires_in is not None else None))
    await session.commit()
    return token


def describe(row: ApiToken) -> dict:
    """A token as listed: never its value or hash."""
    return {"id": row.id, "role": row.role, "customer_id": row.customer_id, "name": row.name,
            "created_at": row.created_at.isoformat(),
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None, "revoked": row.revoked}


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.exec(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id))).all())


async def revoke_token(session: AsyncSession, token_id: str) -> bool:
    row = await session.get(ApiToken, token_id)
    if row is None:
        return False
    row.revoked = True
    session.add(row)
    await session.commit()
    return True


CACHE_SECONDS = 5.0  # a revoked or expired token stops working within this
_CACHE: dict[str, tuple[float, Principal | None, datetime | None]] = {}
_USED: dict[str, float] = {}


async def authenticate(sessions, token: str) -> Principal | None:
    """``sessions`` is a session factory: a session is opened only when the cache misses."""
    key = digest(token)
    hit = _CACHE.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        principal, expires = hit[1], hit[2]
        return principal if expires is None or expires > utcnow() else None
    async with sessions() as session:
        row = (await session.exec(select(ApiToken).where(ApiToken.token_hash == key))).first()
        expires = row.expires_at if row is not None else None
        alive = row is not None and not row.revoked and (expires is None or expires > utcnow())
        principal = Principal(row.id, row.role, row.customer_id) if alive else None
        if principal is not None and now - _USED.get(row.id, -LAST_USED_EVERY) >= LAST_USED_EVERY:
            _USED[row.id] = now
            await session.exec(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
            await session.commit()
    if len(_CACHE) > 10_000:
        _CACHE.clear()
        _USED.clear()
    _CACHE[key] = (now, principal, expires)
    return principal
