"""blackbox_exporter's http module (its CONFIGURATION.md ``<http_probe>``): the
option names, defaults and load checks, in its words, and the ``HttpTarget`` fields
a module and a scrape's ``target`` make. Credentials files are read at load."""
from __future__ import annotations

import base64
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment

from pydantic import model_validator

from probes.options import Cel, File, IpSection, Regex, Section, Size, TlsConfig, refused


class BasicAuth(Section):
    username: str = ""
    password: str | None = None
    username_file: File | None = None
    password_file: File | None = None


class Authorization(Section):
    type: str = "Bearer"
    credentials: str | None = None
    credentials_file: File | None = None


def _read(path: str, strip: bool = True) -> str:
    """A credentials (or body) file, read at load (blackbox reads it per request), at most 1 MB."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(1024 * 1024)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return text.strip() if strip else text


TOKEN_PROXY = "a proxy for the token endpoint"


class OAuth2Section(Section):
    """Prometheus's ``oauth2``: the client credentials grant."""
    client_id: str = ""
    client_secret: str | None = None
    client_secret_file: File | None = None
    scopes: list[str] = []
    token_url: str = ""
    endpoint_params: dict[str, str] = {}
    tls_config: TlsConfig = TlsConfig()
    grant_type: Annotated[str | None, refused("only the client_credentials grant", "client_credentials")] = None
    proxy_url: Annotated[str | None, refused(TOKEN_PROXY)] = None
    no_proxy: Annotated[str | None, refused(TOKEN_PROXY)] = None
    proxy_from_environment: Annotated[bool, refused(TOKEN_PROXY, False)] = False
    proxy_connect_header: Annotated[dict | None, refused(TOKEN_PROXY)] = None

    def target(self) -> dict:
        secret = _read(self.client_secret_file) if self.client_secret_file else (self.client_secret or "")
        return {"token_url": self.token_url, "client_id": self.client_id, "secret": secret, "scopes": self.scopes,
                "endpoint_params": self.endpoint_params, "tls": self.tls_config.options()}


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
    files: list[File] = []

    def last(self) -> tuple[str | None, bool]:
        """(the value, whether it is a secret)."""
        if self.files:
            return _read(self.files[-1]), True
        if self.secrets:
            return self.secrets[-1], True
        return (self.values[-1], False) if self.values else (None, False)


class ClientAuth(Section):
    """Prometheus's HTTP client credentials (http modules, a websocket's ``http_config``)."""
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: str | None = None
    bearer_token_file: File | None = None

    def check_auth(self, oauth2: object | None = None) -> None:
        """Prometheus's checks of the credentials (HTTPClientConfig.Validate's first part), its words."""
        bearer, basic, auth = bool(self.bearer_token or self.bearer_token_file), self.basic_auth, self.authorization
        if self.bearer_token and self.bearer_token_file:
            raise ValueError("at most one of bearer_token & bearer_token_file must be configured")
        if (basic is not None or oauth2 is not None) and bearer:
            raise ValueError("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
                             "configured")
        if basic is not None and basic.username and basic.username_file:
            raise ValueError("at most one of basic_auth username, username_file & username_ref must be configured")
        if basic is not None and basic.password and basic.password_file:
            raise ValueError("at most one of basic_auth password, password_file & password_ref must be configured")
        if auth is not None:
            if bearer:
                raise ValueError("authorization is not compatible with bearer_token & bearer_token_file")
            if auth.credentials and auth.credentials_file:
                raise ValueError("at most one of authorization credentials & credentials_file must be configured")
            if auth.type.strip().lower() == "basic":
                raise ValueError('authorization type cannot be set to "basic", use "basic_auth" instead')
            if basic is not None or oauth2 is not None:
                raise ValueError("at most one of basic_auth, oauth2 & authorization must be configured")

    def auth_header(self) -> str | None:
        """The Authorization header's value they make (files read now)."""
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


def split_headers(given: dict[str, HeaderValues], auth: str | None) -> tuple[dict[str, str], list[dict]]:
    """``http_headers`` (or a websocket's ``headers``) as plain headers and secret ones
    (secrets, files, and any Authorization), with ``auth`` as the Authorization where none is given."""
    plain, secrets = {}, []
    for name, values in given.items():
        value, secret = values.last()
        if value is None:
            continue
        if secret or name.lower() == "authorization":
            secrets.append({"name": name, "secret": value})
        else:
            plain[name] = value
    if auth is not None and not any(s["name"].lower() == "authorization" for s in secrets):
        secrets.append({"name": "Authorization", "secret": auth})
    return plain, secrets


class HttpModule(IpSection, ClientAuth):
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
    fail_if_body_json_matches_cel: Cel | None = None
    fail_if_body_json_not_matches_cel: Cel | None = None
    tls_config: TlsConfig = TlsConfig()
    proxy_url: str | None = None
    no_proxy: str | None = None
    proxy_from_environment: bool = False
    proxy_connect_header: dict[str, list[str]] = {}
    skip_resolve_phase_with_proxy: bool = False
    oauth2: OAuth2Section | None = None
    enable_http2: bool = True  # accepted: slawatch speaks HTTP/1.1, which every HTTP/2 server also serves
    enable_http3: bool = False  # refused after blackbox's own checks of it
    body: str | None = None
    body_file: File | None = None

    @model_validator(mode="after")
    def _consistent(self):  # blackbox's own load checks (and Prometheus's HTTP client's), in their order and words
        self._client_config()
        if self.body is not None and self.body_file is not None:
            raise ValueError("setting body and body_file both are not allowed")
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

    def _client_config(self) -> None:
        """Prometheus's HTTPClientConfig.Validate, which blackbox runs first."""
        self.check_auth(self.oauth2)
        basic, oauth2 = self.basic_auth, self.oauth2
        if oauth2 is not None:
            if basic is not None:
                raise ValueError("at most one of basic_auth, oauth2 & authorization must be configured")
            for key in ("client_id", "token_url"):
                if not getattr(oauth2, key):
                    raise ValueError(f"oauth2 {key} must be configured")
            if oauth2.client_secret and oauth2.client_secret_file:
                raise ValueError("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be "
                                 "configured using grant-type=client_credentials")
        if self.proxy_connect_header and not (self.proxy_url or self.proxy_from_environment):
            raise ValueError("if proxy_connect_header is configured, proxy_url or proxy_from_environment must "
                             "also be configured")
        if self.proxy_from_environment and self.proxy_url:
            raise ValueError("if proxy_from_environment is configured, proxy_url must not be configured")
        if self.proxy_from_environment and self.no_proxy:
            raise ValueError("if proxy_from_environment is configured, no_proxy must not be configured")
        if self.no_proxy and not self.proxy_url:
            raise ValueError("if no_proxy is configured, proxy_url must also be configured")
        if self.proxy_url:
            parts = urlsplit(self.proxy_url)
            if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"proxy_url: not supported ({self.proxy_url!r}: slawatch speaks to an http:// "
                                 "proxy, host and port)")

    def proxy(self, scheme: str) -> dict | None:
        """The target's ``proxy``: ``proxy_url`` (its userinfo the credentials), or the
        environment's HTTP_PROXY/HTTPS_PROXY/NO_PROXY for ``proxy_from_environment``."""
        url, no_proxy = self.proxy_url, self.no_proxy
        if self.proxy_from_environment:
            env = getproxies_environment()
            url, no_proxy = env.get(scheme), env.get("no")
        if not url:
            return None
        parts = urlsplit(url)
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return {"url": f"http://{netloc}", "username": unquote(parts.username) if parts.username else None,
                "password": unquote(parts.password) if parts.password else None,
                "no_proxy": [e for e in (no_proxy or "").split(",") if e.strip()],
                "connect_headers": [{"name": k, "secret": v[-1]} for k, v in self.proxy_connect_header.items() if v],
                "resolve_target": not self.skip_resolve_phase_with_proxy}

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
    extra, secrets = split_headers(m.http_headers, None)
    headers |= extra
    follow = m.follow_redirects if m.no_follow_redirects is None else not m.no_follow_redirects
    url = target if "://" in target else f"http://{target}"
    return {"url": url, "method": m.method,
            "valid_status": m.valid_status_codes, "valid_http_versions": m.valid_http_versions,
            "fail_if_body_matches": m.fail_if_body_matches_regexp,
            "fail_if_body_not_matches": m.fail_if_body_not_matches_regexp,
            "fail_if_header_matches": [h.model_dump() for h in m.fail_if_header_matches],
            "fail_if_header_not_matches": [h.model_dump() for h in m.fail_if_header_not_matches],
            "fail_if_ssl": m.fail_if_ssl, "fail_if_not_ssl": m.fail_if_not_ssl,
            "fail_if_body_json_matches_cel": m.fail_if_body_json_matches_cel,
            "fail_if_body_json_not_matches_cel": m.fail_if_body_json_not_matches_cel,
            "follow_redirects": follow, "max_redirects": 10,  # Go's client stops after 10
            "headers": headers, "authorization": auth, "secret_headers": secrets, "body": m.request_body(),
            "compression": m.compression,
            "body_size_limit": max(m.body_size_limit, 0), "proxy": m.proxy(urlsplit(url).scheme),
            "oauth2": m.oauth2.target() if m.oauth2 is not None else None,
            "tls": m.tls_config.options(), **m.ip()}


