"""blackbox_exporter's http module (its CONFIGURATION.md ``<http_probe>``): the
option names, defaults and load checks, in its words, and the ``HttpTarget`` fields
a module and a scrape's ``target`` make. Credentials files are read at load."""
from __future__ import annotations

import base64
from typing import Annotated, Literal

from pydantic import model_validator

from probes.options import IpChoice as IpSection
from probes.options import Regex, Section, Size, TlsConfig, refused


class BasicAuth(Section):
    username: str = ""
    password: str | None = None
    username_file: str | None = None
    password_file: str | None = None


class Authorization(Section):
    type: str = "Bearer"
    credentials: str | None = None
    credentials_file: str | None = None


def _read(path: str, strip: bool = True) -> str:
    """A credentials (or body) file, read at load (blackbox reads it per request), at most 1 MB."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(1024 * 1024)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return text.strip() if strip else text


class HeaderMatchSpec(Section):
    header: str = ""
    regexp: Regex = ""
    allow_missing: bool = False

    @model_validator(mode="after")
    def _named(self):
        if not self.header:
            raise ValueError("header name must be set for HTTP header matchers")
        if not self.regexp:
            raise ValueError("regexp must be set for HTTP header matchers")
        return self


class HeaderValues(Section):
    """``http_headers``: of the values, secrets and files given, the last one is sent."""
    values: list[str] = []
    secrets: list[str] = []
    files: list[str] = []

    def last(self) -> tuple[str | None, bool]:
        """(the value, whether it is a secret)."""
        if self.files:
            return _read(self.files[-1]), True
        if self.secrets:
            return self.secrets[-1], True
        return (self.values[-1], False) if self.values else (None, False)


PROXY = "a proxy: slawatch connects to the target itself"


class HttpModule(IpSection):
    valid_status_codes: list[int] = []
    valid_http_versions: list[str] = []
    method: str = "GET"
    headers: dict[str, str] = {}
    http_headers: dict[str, HeaderValues] = {}
    body_size_limit: Size = 0  # negative: no limit of the module's own (blackbox's)
    compression: Literal["", "gzip", "deflate", "br", "identity"] = ""
    follow_redirects: bool = True
    no_follow_redirects: bool | None = None  # blackbox's old name, still read
    fail_if_ssl: bool = False
    fail_if_not_ssl: bool = False
    fail_if_body_matches_regexp: list[Regex] = []
    fail_if_body_not_matches_regexp: list[Regex] = []
    fail_if_header_matches: list[HeaderMatchSpec] = []
    fail_if_header_not_matches: list[HeaderMatchSpec] = []
    fail_if_body_json_matches_cel: Annotated[str | None, refused("CEL expressions")] = None
    fail_if_body_json_not_matches_cel: Annotated[str | None, refused("CEL expressions")] = None
    tls_config: TlsConfig = TlsConfig()
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    proxy_url: Annotated[str | None, refused(PROXY)] = None
    no_proxy: Annotated[str | None, refused(PROXY)] = None
    proxy_from_environment: Annotated[bool, refused(PROXY, False)] = False
    proxy_connect_header: Annotated[dict | None, refused(PROXY)] = None
    skip_resolve_phase_with_proxy: Annotated[bool, refused(PROXY, False)] = False
    oauth2: Annotated[dict | None, refused("OAuth 2.0 client credentials")] = None
    enable_http2: bool = True  # accepted: slawatch speaks HTTP/1.1, which every HTTP/2 server also serves
    enable_http3: bool = False  # refused after blackbox's own checks of it
    body: str | None = None
    body_file: str | None = None

    @model_validator(mode="after")
    def _consistent(self):  # blackbox's own load checks, in its words
        if self.body is not None and self.body_file is not None:
            raise ValueError("setting body and body_file both are not allowed")
        if self.bearer_token and self.bearer_token_file:
            raise ValueError("at most one of bearer_token & bearer_token_file must be configured")
        auths = [self.basic_auth is not None, self.authorization is not None,
                 bool(self.bearer_token or self.bearer_token_file)]
        if sum(auths) > 1:
            raise ValueError("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
                             "configured")
        if self.authorization and self.authorization.credentials and self.authorization.credentials_file:
            raise ValueError("at most one of authorization credentials & credentials_file must be configured")
        if self.authorization and self.authorization.type.lower() == "basic":
            raise ValueError('authorization type cannot be set to "basic", use "basic_auth" instead')
        for key, value in self.headers.items():
            if key.lower() == "accept-encoding" and not accepts(self.compression, value):
                raise ValueError(f'invalid configuration "{key}: {value}", "compression: {self.compression}"')
        if not self.enable_http3 and "HTTP/3.0" in self.valid_http_versions:
            raise ValueError("HTTP/3 cannot be used as a valid HTTP version when enable_http3 is false")
        if self.enable_http3:
            if {"HTTP/2.0", "HTTP/1.1"} & set(self.valid_http_versions):
                raise ValueError("HTTP/3 and HTTP/2.0/1.1 cannot be used together - only HTTP/3.0 is allowed when "
                                 "enable_http3 is true")
            if self.enable_http2:
                raise ValueError("when enable_http3 is true, enable_http2 must be set to false")
            raise ValueError("enable_http3: not supported (HTTP/3)")
        return self

    def auth_header(self) -> str | None:
        if self.basic_auth is not None:
            b = self.basic_auth
            user = _read(b.username_file) if b.username_file else b.username
            pw = _read(b.password_file) if b.password_file else (b.password or "")
            return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        if self.authorization is not None:
            a = self.authorization
            return f"{a.type} {_read(a.credentials_file) if a.credentials_file else a.credentials or ''}"
        if self.bearer_token or self.bearer_token_file:
            return "Bearer " + (_read(self.bearer_token_file) if self.bearer_token_file else self.bearer_token)
        return None

    def request_body(self) -> str | None:
        return _read(self.body_file, strip=False) if self.body_file else self.body


def accepts(compression: str, accept_encoding: str) -> bool:
    """blackbox's isCompressionAcceptEncodingValid: the highest-quality entry naming
    ``compression`` (or ``*``) must accept it."""
    if not compression or not accept_encoding:
        return True
    entries = []
    for part in accept_encoding.split(","):
        name, sep, q = part.rpartition(";")
        if not sep:
            entries.append((part.strip(), 1.0))
            continue
        try:
            quality = round(float(q.strip().removeprefix("q=")), 3)
        except ValueError:
            quality = 0.0
        entries.append((name.strip(), quality))
    entries.sort(key=lambda e: -e[1])
    return next((q > 0 for name, q in entries if name in (compression, "*")), False)


def from_module(m: HttpModule, target: str) -> dict:
    """The ``HttpTarget`` fields a module and a scrape's target make."""
    # an Authorization header is a secret wherever the module put it: its own field (sealed, masked)
    headers = {k: v for k, v in m.headers.items() if k.lower() != "authorization"}
    auth = next((v for k, v in m.headers.items() if k.lower() == "authorization"), None) or m.auth_header()
    secrets = []
    for name, given in m.http_headers.items():
        value, secret = given.last()
        if value is None:
            continue
        if secret or name.lower() == "authorization":
            secrets.append({"name": name, "secret": value})
        else:
            headers[name] = value
    follow = m.follow_redirects if m.no_follow_redirects is None else not m.no_follow_redirects
    return {"url": target if "://" in target else f"http://{target}", "method": m.method,
            "valid_status": m.valid_status_codes, "valid_http_versions": m.valid_http_versions,
            "fail_if_body_matches": m.fail_if_body_matches_regexp,
            "fail_if_body_not_matches": m.fail_if_body_not_matches_regexp,
            "fail_if_header_matches": [h.model_dump() for h in m.fail_if_header_matches],
            "fail_if_header_not_matches": [h.model_dump() for h in m.fail_if_header_not_matches],
            "fail_if_ssl": m.fail_if_ssl, "fail_if_not_ssl": m.fail_if_not_ssl,
            "follow_redirects": follow, "max_redirects": 10,  # Go's client stops after 10
            "headers": headers, "authorization": auth, "secret_headers": secrets, "body": m.request_body(),
            "compression": m.compression,
            "body_size_limit": max(m.body_size_limit, 0), "tls": m.tls_config.options(), **m.ip()}


