"""Probe modules (``probes/modules.yml`` or ``SLAWATCH_PROBE_MODULES``): named
probe settings, as blackbox_exporter's modules are. Validated at start with
file:line errors, and each ``prober`` checked against the registry."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from app.calendars.durations import parse_span
from app.contracts.errors import error_message
from app.contracts.types import Strict
from app.contracts.yamlfile import YamlDoc
from probes import PROBERS

BLACKBOX_ONLY = ("grpc", "websocket", "unix")  # blackbox_exporter's probers slawatch does not have
DEFAULT_MODULES = Path(__file__).resolve().parent.parent.parent / "probes" / "modules.yml"


def _span(v: Any) -> timedelta:
    return v if isinstance(v, timedelta) else parse_span(v)


class ProbeModule(Strict):
    prober: str
    # 0: the scrape's own timeout less the offset (blackbox_exporter's default)
    timeout: Annotated[timedelta, BeforeValidator(_span)] = timedelta(0)
    http: dict[str, Any] = {}
    tcp: dict[str, Any] = {}
    tls: dict[str, Any] = {}
    icmp: dict[str, Any] = {}
    dns: dict[str, Any] = {}
    smtp: dict[str, Any] = {}
    imap: dict[str, Any] = {}
    pop3: dict[str, Any] = {}


class ModulesFile(Strict):
    modules: dict[str, ProbeModule]


class TargetError(ValueError):
    def __init__(self, err: dict):
        self.loc, self.message = tuple(err["loc"]), error_message(err)  # the file's wording
        super().__init__(f"{'.'.join(map(str, self.loc))}: {err['msg']}")  # the API's (pydantic's)


def build_target(module: ProbeModule, target: str, hostname: str | None = None):
    """The prober's target model from the module's options and the ``target`` parameter;
    ``hostname`` (blackbox's parameter) is the HTTP Host header and the TLS server name
    where the module sets none (the target may then be an address)."""
    prober = PROBERS[module.prober]
    options = dict(getattr(module, module.prober, {}) or {})
    try:
        config = prober.from_module(options, target)
        if hostname:
            tls, field = config.get("tls"), prober.target.model_fields.get("tls")
            # where TLS is on (set, or on by default): a tcp module without TLS stays without
            if isinstance(tls, dict) or (tls is None and field is not None and field.default is not None):
                config["tls"] = {"server_name": hostname, **(tls or {})}
            if "headers" in prober.target.model_fields:
                config["headers"] = {"Host": hostname, **config.get("headers", {})}
        return prober.target.model_validate(config)
    except ValidationError as exc:
        raise TargetError(exc.errors()[0]) from None


def _refuse_unsupported(doc: YamlDoc, offered: list[str]) -> None:
    """A blackbox_exporter prober or option slawatch does not have is named as not
    supported (file:line), not as a misspelling."""
    modules = doc.data.get("modules") if isinstance(doc.data, dict) else None
    for name, module in (modules or {}).items():
        if not isinstance(module, dict):
            continue
        prober = module.get("prober")
        if isinstance(prober, str) and prober not in offered:
            raise doc.error(("modules", name, "prober"), f"prober {prober!r} is not supported (slawatch probes "
                                                         f"with: {', '.join(offered)})")
        for key in module:
            if key in BLACKBOX_ONLY:
                raise doc.error(("modules", name, key), f"not supported (blackbox_exporter's {key} prober's "
                                                        "options; slawatch has no such prober)")


def load_modules(path: Path) -> dict[str, ProbeModule]:
    """Every module checked at load: its prober is one offered as a module, and its
    options make a valid target (tried on a stand-in address), errors at file:line."""
    doc = YamlDoc(path, str(path))
    offered = sorted(n for n, p in PROBERS.items() if p.from_module is not None)
    _refuse_unsupported(doc, offered)
    parsed = doc.validate(ModulesFile)
    for name, module in parsed.modules.items():  # (a prober not offered was refused above)
        try:
            build_target(module, "127.0.0.1:1")  # a stand-in address: the scrape brings the real one
        except TargetError as exc:  # the option's own line when the module sets it, else the module's
            given = exc.loc[:1] and exc.loc[0] in (getattr(module, module.prober) or {})
            if given:
                raise doc.error(("modules", name, module.prober, *exc.loc), exc.message) from None
            raise doc.error(("modules", name), f"{module.prober}.{exc}") from None
    return parsed.modules
