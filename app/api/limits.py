"""The request's shape, checked before any route reads it: a body larger than
``MAX_BODY`` (413), a JSON body nested too deep or carrying control characters,
a path or query with control characters (422) — all problem+json, and nothing
behind them runs."""
from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem
from app.contracts import jsonshape

MAX_BODY = 5 * 1024 * 1024
_CONTROL = bytes(range(32)) + b"\x7f"


def _has_control(raw: bytes) -> bool:
    return raw.translate(None, _CONTROL) != raw


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        query = unquote_to_bytes(scope.get("query_string", b""))
        if _has_control(scope.get("path", "").encode()) or _has_control(query):
            return await problem(422, "Invalid request", "path or query: control characters are not allowed")(
                scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await problem(413, "Request too large", f"body larger than {self.limit} bytes")(scope, receive, send)
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        # read the body whole (bounded), check its shape, then hand it on
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                return await problem(413, "Request too large", f"body larger than {self.limit} bytes")(
                    scope, receive, send)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"json" in headers.get(b"content-type", b"json") or body[:1] in (b"{", b"["):
            refused = jsonshape.problem(body)
            if refused is not None:
                return await problem(422, "Invalid request", f"body: {refused}",
                                     errors=[{"pointer": "/", "detail": refused}])(scope, receive, send)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        await self.app(scope, replay, send)
