"""OAuth 2.0 client credentials (RFC 6749 §4.4) for an HTTP probe, as blackbox_exporter's
``oauth2`` does through Go's clientcredentials package: a token bought from
``token_url`` with the client's id and secret (HTTP basic auth, as RFC 6749 §2.3.1
prefers; the form's fields when the server refuses that), kept until shortly before
it expires, and sent as ``Authorization: Bearer``. The secret is stored sealed."""
from __future__ import annotations

import json
import time
from urllib.parse import quote

import httpx
from pydantic import Field

from probes.net import TargetModel, TlsOptions, tls_context
from probes.result import ProbeFailure

EARLY_SECONDS = 10.0  # a token is bought again this long before it expires (Go's oauth2 does the same)
MAX_TOKEN_BYTES = 64 * 1024


class OAuth2(TargetModel):
    token_url: str = Field(pattern=r"^https?://")
    client_id: str
    secret: str = ""  # the client secret (sealed at rest, never shown)
    scopes: list[str] = []
    endpoint_params: dict[str, str] = {}
    tls: TlsOptions = TlsOptions()

    def key(self) -> tuple:
        return (self.token_url, self.client_id, self.secret, tuple(self.scopes),
                tuple(sorted(self.endpoint_params.items())))


_TOKENS: dict[tuple, tuple[float, str]] = {}  # key → (expires at, monotonic; token)


async def _ask(client: httpx.AsyncClient, o: OAuth2, in_header: bool) -> tuple[int, bytes]:
    """(status, body — at most MAX_TOKEN_BYTES + 1 bytes read: the server is not trusted with our memory)."""
    form = {"grant_type": "client_credentials", **o.endpoint_params}
    if o.scopes:
        form["scope"] = " ".join(o.scopes)
    auth = None
    if in_header:  # RFC 6749 §2.3.1: id and secret form-urlencoded, then basic auth
        auth = httpx.BasicAuth(quote(o.client_id, safe=""), quote(o.secret, safe=""))
    else:
        form |= {"client_id": o.client_id, "client_secret": o.secret}
    body = bytearray()
    async with client.stream("POST", o.token_url, data=form, auth=auth,
                             headers={"Accept": "application/json"}) as r:
        async for chunk in r.aiter_bytes():
            body += chunk
            if len(body) > MAX_TOKEN_BYTES:
                break
    return r.status_code, bytes(body)


async def _buy(o: OAuth2, timeout: float) -> tuple[float, str]:
    async with httpx.AsyncClient(verify=tls_context(o.tls), timeout=timeout, follow_redirects=False) as client:
        status, content = await _ask(client, o, in_header=True)
        if status in (400, 401):  # Go's auto-detection: the form's fields next
            status, content = await _ask(client, o, in_header=False)
    if status != 200 or len(content) > MAX_TOKEN_BYTES:
        raise ProbeFailure(f"oauth2:{status}")
    try:
        body = json.loads(content)
        token, lifetime = str(body["access_token"]), float(body.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError):
        raise ProbeFailure("oauth2:bad_response") from None
    return time.monotonic() + max(lifetime - EARLY_SECONDS, 0.0), token


async def bearer(o: OAuth2, timeout: float) -> str:
    """A live token for ``o``: the kept one, or one bought now."""
    key = o.key()
    hit = _TOKENS.get(key)
    if hit is None or hit[0] <= time.monotonic():
        if len(_TOKENS) > 1024:
            _TOKENS.clear()
        hit = _TOKENS[key] = await _buy(o, timeout)
    return hit[1]
