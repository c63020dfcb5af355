"""Huge bodies are refused before anything reads them (413 problem+json)."""
from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import problem

MAX_BODY = 5 * 1024 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await problem(413, "Request too large", f"body larger than {self.limit} bytes")(scope, receive, send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge
            return message
        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await problem(413, "Request too large", f"body larger than {self.limit} bytes")(scope, receive, send)


class BodyTooLarge(Exception):
    pass
