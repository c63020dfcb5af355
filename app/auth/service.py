"""Tokens are random, shown once, stored as SHA-256; a customer token is bound
to one customer and sees only that customer's data."""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.tables import ApiToken, Customer

ROLES = ("admin", "noc", "customer")
PREFIX = "slw_"


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


async def create_token(session: AsyncSession, role: str, customer_id: str | None = None, name: str = "") -> str:
    """Returns the token itself (the only time it exists outside the caller)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "customer") != (customer_id is not None):
        raise ValueError("a customer token needs --customer, and only a customer token takes one")
    if customer_id is not None and await session.get(Customer, customer_id) is None:
        raise ValueError(f"unknown customer {customer_id!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(id=secrets.token_hex(8), token_hash=digest(token), role=role, customer_id=customer_id,
                         name=name))
    await session.commit()
    return token


CACHE_SECONDS = 5.0  # a revoked token stops working within this
_CACHE: dict[str, tuple[float, Principal | None]] = {}


async def authenticate(sessions, token: str) -> Principal | None:
    """``sessions`` is a session factory: a session is opened only when the cache misses."""
    key = digest(token)
    hit = _CACHE.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    async with sessions() as session:
        row = (await session.exec(select(ApiToken).where(ApiToken.token_hash == key))).first()
    principal = None if row is None or row.revoked else Principal(row.id, row.role, row.customer_id)
    if len(_CACHE) > 10_000:
        _CACHE.clear()
    _CACHE[key] = (now, principal)
    return principal
