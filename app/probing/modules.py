"""Probe modules (``probes/modules.yml`` or ``SLAWATCH_PROBE_MODULES``):
blackbox_exporter's modules file, read as blackbox reads it — its probers,
option names and defaults (each prober's section model in ``probes/``) — plus
slawatch's own probers (smtp, imap, pop3, tls), whose section is their target's
fields. Validated at start with file:line errors; an option slawatch does not
implement is refused by name, never ignored."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel, BeforeValidator, PrivateAttr, ValidationError

from app.calendars.durations import parse_span
from app.contracts.errors import error_loc, error_message, first_errors
from app.contracts.types import Strict
from app.contracts.yamlfile import RulesError, YamlDoc
from probes import PROBERS


def _span(v: Any) -> timedelta:
    return v if isinstance(v, timedelta) else parse_span(v)


Section = dict[str, Any] | None


class ProbeModule(Strict):
    prober: str
    # 0: the scrape's own timeout less the offset (blackbox_exporter's default)
    timeout: Annotated[timedelta, BeforeValidator(_span)] = timedelta(0)
    http: Section = None
    tcp: Section = None
    dns: Section = None
    icmp: Section = None
    grpc: Section = None
    unix: Section = None
    websocket: Section = None
    tls: Section = None
    smtp: Section = None
    imap: Section = None
    pop3: Section = None
    _options: Any = PrivateAttr(None)  # the prober's section, validated (a model, or a dict for slawatch's own)

    @property
    def options(self) -> Any:
        return self._options


class ModulesFile(Strict):
    modules: dict[str, ProbeModule]


class TargetError(ValueError):
    def __init__(self, loc: tuple, message: str, api_message: str | None = None):
        self.loc, self.message = loc, message  # the file's wording
        super().__init__(f"{'.'.join(map(str, loc))}: {api_message or message}" if loc else message)  # the API's

    @classmethod
    def of(cls, err: dict) -> TargetError:
        return cls(tuple(err["loc"]), error_message(err), err["msg"])


def build_target(module: ProbeModule, target: str, hostname: str | None = None):
    """The prober's target model from the module's options and the ``target`` parameter;
    ``hostname`` (blackbox's parameter) is the HTTP Host header and the TLS server name
    where the module sets none (the target may then be an address)."""
    prober = PROBERS[module.prober]
    try:
        config = prober.from_module(module.options, target)
        if hostname:
            tls, field = config.get("tls"), prober.target.model_fields.get("tls")
            # where TLS is on (set, or on by default): a tcp module without TLS stays without
            if isinstance(tls, dict) or (tls is None and field is not None and field.default is not None):
                config["tls"] = {"server_name": hostname, **{k: v for k, v in (tls or {}).items()
                                                             if k != "server_name" or v}}
            if "headers" in prober.target.model_fields:
                config["headers"] = {"Host": hostname, **config.get("headers", {})}
        return prober.target.model_validate(config)
    except ValidationError as exc:
        raise TargetError.of(exc.errors()[0]) from None
    except ValueError as exc:  # a file the module names (credentials, a body) that cannot be read
        raise TargetError((), str(exc)) from None


def _section(doc: YamlDoc, name: str, module: ProbeModule, key: str, model: type[BaseModel]):
    data = getattr(module, key)
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        err = first_errors(exc)[0]
        raise doc.error(("modules", name, key, *error_loc(err)), error_message(err)) from None


def load_modules(path: Path) -> dict[str, ProbeModule]:
    """Every module checked at load, as blackbox_exporter does: its prober is known,
    every section it carries parses with that prober's options (whichever prober the
    module names), and its options make a valid target (tried on a stand-in address)."""
    doc = YamlDoc(path, str(path))
    parsed = doc.validate(ModulesFile)
    for name, module in parsed.modules.items():
        if module.prober not in PROBERS or PROBERS[module.prober].from_module is None:
            offered = ", ".join(sorted(n for n, p in PROBERS.items() if p.from_module is not None))
            raise doc.error(("modules", name, "prober"),  # blackbox's words, and what there is
                            f"prober {module.prober!r} is not valid (slawatch probes with: {offered})")
        for key, prober in PROBERS.items():
            if prober.module is not None and getattr(module, key, None) is not None:
                options = _section(doc, name, module, key, prober.module)
                if key == module.prober:
                    module._options = options
        prober = PROBERS[module.prober]
        if prober.module is not None and module._options is None:
            module._options = prober.module.model_construct()  # blackbox's defaults, unchecked as blackbox leaves them
        elif prober.module is None:
            module._options = dict(getattr(module, module.prober, None) or {})
        try:
            build_target(module, prober.stand_in)  # a stand-in target: the scrape brings the real one
        except TargetError as exc:  # the option's own line when the module sets it, else the module's
            given = exc.loc[:1] and exc.loc[0] in (getattr(module, module.prober) or {})
            if given:
                raise doc.error(("modules", name, module.prober, *exc.loc), exc.message) from None
            raise doc.error(("modules", name), f"{module.prober}.{exc}" if exc.loc else str(exc)) from None
    return parsed.modules


class LoadedModules(dict):
    """The running set of modules, by name: read again on SIGHUP or ``POST /-/reload``
    as blackbox_exporter does — a bad file is logged with its file:line and the
    running set stays — with blackbox's two reload gauges' values."""

    def __init__(self, path: Path):
        super().__init__(load_modules(path))
        self.path, self.ok, self.loaded_at = path, True, time.time()

    def reload(self) -> None:
        """Raises RulesError (the running set unchanged) on a bad file."""
        try:
            fresh = load_modules(self.path)
        except RulesError:
            self.ok = False
            raise
        self.clear()
        self.update(fresh)
        self.ok, self.loaded_at = True, time.time()


class ModulesHealth:
    """blackbox_exporter's own reload gauges, under its names, so its usual alert
    (``blackbox_exporter_config_last_reload_successful != 1``) works unchanged."""

    def __init__(self, modules: LoadedModules):
        self.modules = modules

    def collect(self):
        yield GaugeMetricFamily("blackbox_exporter_config_last_reload_successful",
                                "Blackbox exporter config loaded successfully.", value=int(self.modules.ok))
        yield GaugeMetricFamily("blackbox_exporter_config_last_reload_success_timestamp_seconds",
                                "Timestamp of the last successful configuration reload.", value=self.modules.loaded_at)
