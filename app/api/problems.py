"""Errors as RFC 9457 ``application/problem+json``, each naming the field by JSON pointer."""
from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from app.contracts.errors import CaseError, error_loc, error_message, json_pointer

PROBLEM = "application/problem+json"
log = logging.getLogger("slawatch.api")


def problem(status: int, title: str, detail: str, headers: dict | None = None, **extra) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def answer(request: Request, status: int, title: str, detail: str, headers: dict | None = None, **extra):
    """problem+json for the API; for a portal page, the same error as a page."""
    from app.portal.web import error_page, wants_page

    if wants_page(request):
        return error_page(request, status, title, detail, headers)
    return problem(status, title, detail, headers=headers, **extra)


def allowed_methods(request: Request) -> list[str]:
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return sorted(methods)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unreachable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return problem(503, "Service unavailable", "the database is not available; try again shortly",
                   headers={"Retry-After": "5"})


def install(app: FastAPI) -> None:
    @app.exception_handler(CaseError)
    async def _case(request: Request, exc: CaseError):
        return answer(request, 422, "Invalid evaluation case", str(exc), errors=exc.errors, reason=exc.reason)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            loc = error_loc(e)
            loc = loc[1:] if loc and loc[0] in ("body", "query", "path") else loc
            errors.append({"pointer": json_pointer(loc), "detail": error_message(e)})
        first = errors[0] if errors else {"pointer": "/", "detail": "invalid request"}
        return answer(request, 422, "Invalid request", f"{first['pointer']}: {first['detail']}", errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        title = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                 405: "Method not allowed", 413: "Request too large",
                 429: "Too many requests"}.get(exc.status_code, "Error")
        # WWW-Authenticate on 401, Allow on 405, Retry-After on 429: kept
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # every method the path has, not only the first route's
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return answer(request, exc.status_code, title, str(exc.detail), headers=headers)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError):
        # the database is unreachable, full or read-only: the client should come back, not file a bug
        return await _database_down(request, exc)

    # the driver's own errors when a connection is refused, cut or times out (OSError covers
    # ConnectionError and TimeoutError): unavailable, not broken
    for kind in (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        app.add_exception_handler(kind, _database_down)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "the server failed; the error is in its log")
