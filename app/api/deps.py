"""Request dependencies, shared as ``Annotated`` types so a route says what it
needs in one word: ``Caller`` (a person's token), ``Db`` (a session), ``Reader``
(a read-only Core connection), ``RulesNow`` (the loaded rules)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.service import Principal, authenticate
from app.contracts.rules import Rules


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as s:
        yield s


async def reader(request: Request) -> AsyncIterator[AsyncConnection]:
    """A read-only route's Core connection: autocommit, one round trip per query,
    no ORM session (the credits and statement routes: a third of their cost)."""
    async with request.app.state.read_engine.connect() as conn:
        yield conn


async def bearer(request: Request) -> Principal:
    """Any live token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "send an API token: Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    p = await authenticate(request.app.state.sessions, token.strip())
    if p is None:
        raise HTTPException(401, "unknown, expired or revoked token",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return p


async def principal(p: Principal = Depends(bearer)) -> Principal:
    """A person's token (admin, noc, customer): the API's routes."""
    if p.role == "scrape":
        raise HTTPException(403, "a scrape token reads /metrics and /probe only")
    if p.role == "intake":
        raise HTTPException(403, "an intake token posts alerts to /v1/intake/… only")
    return p


SCRAPERS = frozenset({"scrape", "admin", "noc"})


async def scraper(p: Principal = Depends(bearer)) -> Principal:
    """Prometheus (scrape) or staff: ``/metrics`` shows every customer's money, ``/probe``
    reaches the network from this host; never a customer."""
    if p.role not in SCRAPERS:
        raise HTTPException(403, "this needs the scrape, admin or noc role")
    return p


def require(*roles: str):
    async def check(p: Principal = Depends(bearer)) -> Principal:
        if p.role not in roles:
            raise HTTPException(403, f"this needs the {' or '.join(roles)} role")
        return p
    return check


def not_found(kind: str, ident: str) -> HTTPException:
    return HTTPException(404, f"no {kind} {ident!r}")


def rules(request: Request) -> Rules:
    return request.app.state.rules


Caller = Annotated[Principal, Depends(principal)]
Db = Annotated[AsyncSession, Depends(session)]
Reader = Annotated[AsyncConnection, Depends(reader)]
RulesNow = Annotated[Rules, Depends(rules)]
