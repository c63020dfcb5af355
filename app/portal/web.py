"""What every portal page shares: the Jinja2 environment (autoescape), the
session cookie and its CSRF check, and the answer to a page asked for without
a session (back to sign-in)."""
from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from app.portal.tokens import PortalSession, session_of
from app.reports.views import duration, local

COOKIE = "slw_session"
PRE_COOKIE = "slw_signin"  # the sign-in form's CSRF value before there is a session (double submit)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

# the statement's parts (planned maintenance) are the portal's too: one template each
env = Environment(loader=ChoiceLoader([PackageLoader("app.portal", "templates"),
                                      PackageLoader("app.reports", "templates")]),
                  autoescape=select_autoescape(["html", "xml"]))


env.filters.update(local=local, duration=duration)


def secure(request: Request) -> bool:
    return request.app.state.settings.public_url.startswith("https://")


def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP,
                                                           "Cache-Control": "no-store",
                                                           "X-Content-Type-Options": "nosniff",
                                                           "Referrer-Policy": "same-origin"})


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure(request),
                        path="/")


class SignInNeeded(Exception):
    """A page asked for without a live session: answered with the sign-in page."""


async def optional_session(request: Request) -> PortalSession | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 100:
        return None
    async with request.app.state.sessions() as db:
        return await session_of(db, token)


async def required_session(s: PortalSession | None = Depends(optional_session)) -> PortalSession:
    if s is None:
        raise SignInNeeded
    return s


async def checked_form(csrf: Annotated[str, Form(max_length=100)],
                       s: PortalSession = Depends(required_session)) -> PortalSession:
    """A form's POST: its CSRF token must be the session's (SameSite=Lax alone leaves top-level POSTs open)."""
    if not s.csrf_ok(csrf):
        raise HTTPException(403, "csrf: the form's token does not match this session; reload the page")
    return s


def staff(s: PortalSession = Depends(required_session)) -> PortalSession:
    if s.principal.role not in ("noc", "admin"):
        raise HTTPException(403, "this needs the noc or admin role")
    return s


Viewer = Annotated[PortalSession, Depends(required_session)]
Poster = Annotated[PortalSession, Depends(checked_form)]
Staff = Annotated[PortalSession, Depends(staff)]


def pre_csrf(request: Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)


def pre_csrf_ok(request: Request, sent: str) -> bool:
    have = request.cookies.get(PRE_COOKIE)
    return bool(have) and hmac.compare_digest(have.encode(), sent.encode())


def to_signin(request: Request, exc: SignInNeeded) -> Response:
    if request.url.path.endswith(".json"):
        return Response(status_code=401)
    return RedirectResponse("/", status_code=303)


def wants_page(request: Request) -> bool:
    """A portal page (not its JSON): errors answer as a page a person reads."""
    path = request.url.path
    return path.startswith("/portal/") and not path.endswith(".json") and not path.startswith("/portal/static/")


def error_page(request: Request, status: int, title: str, detail: str, headers: dict | None = None) -> Response:
    response = page(request, "error.html", status, s=None, code=status, title=title, detail=detail)
    response.headers.update(headers or {})
    return response
