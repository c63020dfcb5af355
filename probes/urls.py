"""``slawatch probe URL``: a URL (plus a few flags) as a protocol and its target,
by the scheme each prober declares (``probes.registry``)."""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import ValidationError

from probes import PROBERS
from probes.net import TlsOptions
from probes.registry import ProbeUrlError, UrlForm

BY_SCHEME = {scheme: p for p in PROBERS.values() for scheme in p.schemes}
SCHEMES = ", ".join(BY_SCHEME)

__all__ = ["SCHEMES", "ProbeUrlError", "parse_probe_url"]


def parse_probe_url(url: str, *, starttls: bool = False, insecure: bool = False, ca_file: str | None = None,
                    username: str | None = None, password: str | None = None,
                    min_days_left: int | None = None) -> tuple[str, object]:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    if not scheme or not host:
        raise ProbeUrlError(f"{url}: expected a URL like smtp://host:25 or https://host/ (schemes: {SCHEMES})")
    prober = BY_SCHEME.get(scheme)
    if prober is None:
        raise ProbeUrlError(f"{url}: unknown scheme {scheme!r} (schemes: {SCHEMES})")
    form = UrlForm(url=url, scheme=scheme, host=host, port=parts.port, path=parts.path,
                   query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                   user=username or (unquote(parts.username) if parts.username else None),
                   password=password or (unquote(parts.password) if parts.password else None),
                   tls=TlsOptions(verify=not insecure, ca_file=ca_file, min_days_left=min_days_left),
                   starttls=starttls, min_days_left=min_days_left)
    fields = prober.from_url(form)
    try:
        return prober.name, prober.target.model_validate({k: v for k, v in fields.items()
                                                          if v is not None or k == "tls"})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ProbeUrlError(f"{url}: {where}: {err['msg']}") from None
