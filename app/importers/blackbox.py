"""Prometheus + blackbox_exporter: the scrape jobs of ``prometheus.yml`` whose
metrics path is ``/probe`` name a module of ``blackbox.yml`` (``params.module``) and
list the probed targets in ``static_configs`` (blackbox's relabelling moves each
to ``?target=``). Each becomes a slawatch target of that module's prober, its
options read as ``/probe`` reads them (``app.probing.modules``), with the job's
scrape interval and the module's timeout."""
from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from app.contracts.yamlfile import YamlDoc
from app.importers import CATEGORY, DEFAULT_CATEGORY, Proposals, ident
from app.probing.modules import TargetError, build_target, load_modules

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(text, default: float) -> float:
    """A Prometheus duration (``15s``, ``1m30s``, ``500ms``: its own grammar, with ``ms``,
    ``w`` and ``y``, not slawatch's) in seconds."""
    if text in (None, ""):
        return default
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise ValueError(f"{text!r} is not a duration")
    return sum(int(n) * UNITS[u] for n, u in parts)


class Loose(BaseModel):
    """Only what the import reads is checked (shape and type, with file:line); the rest is kept."""
    model_config = ConfigDict(extra="allow")


class StaticGroup(Loose):
    targets: list[str] = []
    labels: dict[str, str] = {}


class Job(Loose):
    job_name: str
    metrics_path: str = "/metrics"
    scrape_interval: str | None = None
    params: dict[str, list[str]] = {}
    static_configs: list[StaticGroup] = []


class Global(Loose):
    scrape_interval: str | None = None


class PrometheusFile(Loose):
    global_: Global = Field(Global(), alias="global")
    scrape_configs: list[Job] = []


def _load(path: Path, model):
    """The project's YAML reading (size bound, no aliases, file:line on a bad shape)."""
    return YamlDoc(path, str(path)).validate(model)


def proposals(prometheus_yml: Path, blackbox_yml: Path, contract: str | None, category: str | None) -> Proposals:
    # the modules file read as /probe reads it: blackbox's options and defaults, refusals at file:line
    prom, modules = _load(prometheus_yml, PrometheusFile), load_modules(blackbox_yml)
    try:
        default_interval = seconds(prom.global_.scrape_interval, 60)
    except ValueError as exc:
        raise ValueError(f"{prometheus_yml}: global.scrape_interval: {exc}") from None
    out = Proposals()
    for job in prom.scrape_configs:
        name = job.job_name
        if job.metrics_path != "/probe":
            continue  # not a blackbox job
        module_name = (job.params.get("module") or ["http_2xx"])[0]
        module = modules.get(module_name)
        if module is None:
            out.skipped.append((f"job {name}", f"module {module_name!r} is not in {blackbox_yml.name}"))
            continue
        if not job.static_configs:
            kinds = [k for k in (job.model_extra or {}) if k.endswith("_sd_configs")]
            out.skipped.append((f"job {name}", f"its targets come from {', '.join(kinds) or 'nowhere'}: "
                                               "only static_configs are read"))
            continue
        try:
            interval = seconds(job.scrape_interval, default_interval)
            timeout = min(module.timeout.total_seconds() or 5.0, interval)
        except ValueError as exc:
            raise ValueError(f"{prometheus_yml}: job {name}: scrape_interval or module {module_name} "
                             f"timeout: {exc}") from None
        protocol = module.prober
        for group in job.static_configs:
            for target in group.targets:
                cid = group.labels.get("slawatch_contract") or contract
                if not cid:
                    out.skipped.append((f"{name}: {target}", "no contract: label it slawatch_contract or "
                                                             "pass --contract"))
                    continue
                try:
                    config = build_target(module, target).model_dump(mode="json", exclude_defaults=True)
                except TargetError as exc:  # a target the module cannot probe
                    out.skipped.append((f"{name}: {target}", str(exc)))
                    continue
                out.targets.append({
                    "id": ident("bb", name, target.split("://")[-1]), "contract_id": cid, "protocol": protocol,
                    "config": config, "interval": interval, "timeout": timeout,
                    "category": group.labels.get("slawatch_category") or category
                    or CATEGORY.get(protocol, DEFAULT_CATEGORY)})
    return out
