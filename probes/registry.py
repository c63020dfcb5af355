"""One entry per probe: its target model, its probe function, the URL schemes
``slawatch probe URL`` accepts for it, and how a blackbox_exporter-style module
(``/probe?module=…&target=…``) turns its options and target into that model.
Each protocol's module declares its own ``PROBER``; ``probes.PROBERS`` gathers
them, and everything else (the scheduler, the API, module loading) reads it."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel

from probes.net import TargetModel, TlsOptions
from probes.result import ProbeResult
from probes.series import Series
from probes.series import address as address_series


class ProbeUrlError(ValueError):
    pass


@dataclass(frozen=True)
class UrlForm:
    """A probe URL taken apart, with the command line's flags."""
    url: str
    scheme: str
    host: str
    port: int | None
    path: str
    query: dict[str, str]
    user: str | None
    password: str | None
    tls: TlsOptions
    starttls: bool
    min_days_left: int | None


def host_port(target: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port``."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = target.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return target, None


def address(options: dict, target: str) -> dict:
    """The usual module target: a host and, if given, its port."""
    host, port = host_port(target)
    return {**options, "host": host, **({"port": port} if port is not None else {})}


@dataclass(frozen=True)
class Prober:
    name: str
    target: type[TargetModel]
    probe: Callable[..., Awaitable[ProbeResult]]
    schemes: tuple[str, ...] = ()  # URL schemes of `slawatch probe URL`
    from_url: Callable[[UrlForm], dict] | None = None  # the target's fields from a URL
    # a module's section (``http:`` …) and the scrape's target → the target's fields; None: not offered
    from_module: Callable[[object, str], dict] | None = address
    # blackbox_exporter's section model for this prober (its option names and defaults);
    # None: a prober of slawatch's own, whose section is its target's own fields
    module: type[BaseModel] | None = None
    series: Callable[[ProbeResult], list[Series]] = address_series  # blackbox's series for a result
    stand_in: str = "127.0.0.1:1"  # a target to check a module's options with at load
