"""``slawatch probe URL``: a URL (plus a few flags) as a protocol and its target."""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import ValidationError

from probes import TARGETS
from probes.net import TlsOptions

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "submission": 587, "imap": 143, "imaps": 993,
                 "pop3": 110, "pop3s": 995, "dns": 53}
SCHEMES = "http, https, tcp, tls, icmp, dns, smtp, smtps, imap, imaps, pop3, pop3s"


class ProbeUrlError(ValueError):
    pass


def parse_probe_url(url: str, *, starttls: bool = False, insecure: bool = False, ca_file: str | None = None,
                    username: str | None = None, password: str | None = None,
                    min_days_left: int | None = None) -> tuple[str, object]:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    if not scheme or not host:
        raise ProbeUrlError(f"{url}: expected a URL like smtp://host:25 or https://host/ (schemes: {SCHEMES})")
    user = username or (unquote(parts.username) if parts.username else None)
    secret = password or (unquote(parts.password) if parts.password else None)
    tls = TlsOptions(verify=not insecure, ca_file=ca_file, min_days_left=min_days_left)
    port = parts.port
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme in ("http", "https"):
        proto, fields = "http", {"url": url, "tls": tls}
    elif scheme == "tcp":
        proto, fields = "tcp", {"host": host, "port": port, "tls": tls if starttls else None}
    elif scheme == "tls":
        proto, fields = "tls", {"host": host, "port": port or 443,
                                "tls": tls.model_copy(update={"min_days_left": min_days_left or 14})}
    elif scheme == "icmp":
        proto, fields = "icmp", {"host": host}
    elif scheme == "dns":
        name = parts.path.lstrip("/") or host
        proto, fields = "dns", {"server": host, "port": port or 53, "name": name,
                                "type": query.get("type", "A"), "transport": query.get("transport", "udp")}
    elif scheme in ("smtp", "smtps", "submission"):
        security = "implicit" if scheme == "smtps" else ("starttls" if starttls or scheme == "submission" else "none")
        proto, fields = "smtp", {"host": host, "port": port or DEFAULT_PORTS[scheme], "security": security,
                                 "tls": tls, "username": user, "password": secret}
    elif scheme in ("imap", "imaps", "pop3", "pop3s"):
        proto, implicit = ("pop3" if scheme.startswith("pop3") else "imap"), scheme in ("imaps", "pop3s")
        if user is None or secret is None:
            raise ProbeUrlError(f"{url}: {proto} needs a user and a password "
                                "(user:pass@host, or --username/--password)")
        security = "implicit" if implicit else ("starttls" if starttls else "none")
        fields = {"host": host, "port": port or DEFAULT_PORTS[scheme], "security": security, "tls": tls,
                  "username": user, "password": secret}
    else:
        raise ProbeUrlError(f"{url}: unknown scheme {scheme!r} (schemes: {SCHEMES})")
    try:
        return proto, TARGETS[proto].model_validate({k: v for k, v in fields.items() if v is not None or k == "tls"})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ProbeUrlError(f"{url}: {where}: {err['msg']}") from None
