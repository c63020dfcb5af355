"""Probe modules (``probes/modules.yml`` or ``SLAWATCH_PROBE_MODULES``): named
probe settings, as blackbox_exporter's modules are. Validated at start with
file:line errors, and each ``prober`` checked against the registry."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from app.calendars.durations import parse_span
from app.contracts.types import Strict
from app.contracts.yamlfile import YamlDoc
from probes import PROBES, TARGETS

DEFAULT_MODULES = Path(__file__).resolve().parent.parent.parent / "probes" / "modules.yml"


def _span(v: Any) -> timedelta:
    return v if isinstance(v, timedelta) else parse_span(v)


class ProbeModule(Strict):
    prober: str
    timeout: Annotated[timedelta, BeforeValidator(_span)] = timedelta(seconds=10)
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
    pass


def _host_port(target: str) -> tuple[str, int | None]:
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = target.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return target, None


def build_target(module: ProbeModule, target: str):
    """The prober's target model from the module's options and the ``target`` parameter."""
    options = dict(getattr(module, module.prober, {}) or {})
    if module.prober == "http":
        options["url"] = target if "://" in target else f"http://{target}"
    elif module.prober == "dns":
        host, port = _host_port(target)
        options.update(server=host, **({"port": port} if port else {}))
    else:
        host, port = _host_port(target)
        options["host"] = host
        if port is not None and module.prober != "icmp":
            options["port"] = port
    try:
        return TARGETS[module.prober].model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise TargetError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def load_modules(path: Path) -> dict[str, ProbeModule]:
    doc = YamlDoc(path, str(path))
    parsed = doc.validate(ModulesFile)
    for name, module in parsed.modules.items():
        if module.prober not in PROBES or module.prober in ("mail_roundtrip", "sms"):
            allowed = ", ".join(sorted(set(PROBES) - {"mail_roundtrip", "sms"}))
            raise doc.error(("modules", name, "prober"), f"unknown prober {module.prober!r} (known: {allowed})")
    return parsed.modules
