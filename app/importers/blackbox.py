"""Prometheus + blackbox_exporter: the scrape jobs of ``prometheus.yml`` whose
metrics path is ``/probe`` name a module of ``blackbox.yml`` (``params.module``) and
list the probed targets in ``static_configs`` (blackbox's relabelling moves each
to ``?target=``). Each becomes a slawatch target of that module's prober (http,
tcp, icmp, dns) with the job's scrape interval and the module's timeout."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.contracts.yamlfile import YamlDoc
from app.importers import CATEGORY, DEFAULT_CATEGORY, Proposals, ident

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


class Module(Loose):
    prober: str
    timeout: str | None = None
    http: dict[str, Any] = {}
    tcp: dict[str, Any] = {}
    dns: dict[str, Any] = {}
    icmp: dict[str, Any] = {}


class BlackboxFile(Loose):
    modules: dict[str, Module] = {}


def _load(path: Path, model):
    """The project's YAML reading (size bound, no aliases, file:line on a bad shape)."""
    return YamlDoc(path, str(path)).validate(model)


def _http(target: str, mod: dict) -> dict:
    url = target if re.match(r"^https?://", target) else f"http://{target}"
    config = {"url": url, "method": mod.get("method", "GET")}
    if mod.get("valid_status_codes"):
        config["valid_status"] = [int(c) for c in mod["valid_status_codes"]]
    for theirs, ours in (("fail_if_body_not_matches_regexp", "body_regex"),
                         ("fail_if_body_matches_regexp", "body_not_regex")):
        if mod.get(theirs):
            config[ours] = "|".join(f"(?:{r})" for r in mod[theirs])
    if (mod.get("tls_config") or {}).get("insecure_skip_verify"):
        config["tls"] = {"verify": False}
    if mod.get("no_follow_redirects"):
        config["follow_redirects"] = False
    if mod.get("headers"):
        config["headers"] = {str(k): str(v) for k, v in mod["headers"].items()}
    return config


def _host_port(target: str) -> tuple[str, int | None]:
    match = re.fullmatch(r"\[?([^\]]+?)\]?(?::(\d+))?", target)
    return (match[1], int(match[2]) if match[2] else None) if match else (target, None)


def _tcp(target: str, mod: dict) -> dict:
    host, port = _host_port(target)
    config = {"host": host, "port": port}
    if mod.get("tls"):
        config["tls"] = {"verify": not (mod.get("tls_config") or {}).get("insecure_skip_verify", False)}
    # slawatch's tcp probe writes one ``send`` and matches one ``expect``: the first
    # expectation, and what is sent before it (a QUIT after the banner is left out)
    for step in mod.get("query_response") or []:
        if not isinstance(step, dict):
            continue
        if "expect" in step:
            config["expect"] = str(step["expect"])
            break
        if "send" in step and "send" not in config:
            config["send"] = str(step["send"])
    return config


def _dns(target: str, mod: dict) -> dict:
    host, port = _host_port(target)
    return {"server": host, "port": port or 53, "name": mod.get("query_name"), "type": mod.get("query_type", "A"),
            "transport": mod.get("transport_protocol", "udp")}


PROBERS = {"http": ("http", _http), "tcp": ("tcp", _tcp), "icmp": ("icmp", lambda t, m: {"host": t}),
           "dns": ("dns", _dns)}


def proposals(prometheus_yml: Path, blackbox_yml: Path, contract: str | None, category: str | None) -> Proposals:
    prom, modules = _load(prometheus_yml, PrometheusFile), _load(blackbox_yml, BlackboxFile).modules
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
        prober = PROBERS.get(module.prober)
        if prober is None:
            out.skipped.append((f"job {name}", f"prober {module.prober!r} has no slawatch probe "
                                               f"(imported: {', '.join(PROBERS)})"))
            continue
        if not job.static_configs:
            kinds = [k for k in (job.model_extra or {}) if k.endswith("_sd_configs")]
            out.skipped.append((f"job {name}", f"its targets come from {', '.join(kinds) or 'nowhere'}: "
                                               "only static_configs are read"))
            continue
        try:
            interval = seconds(job.scrape_interval, default_interval)
            timeout = min(seconds(module.timeout, 5.0), interval)
        except ValueError as exc:
            raise ValueError(f"{prometheus_yml}: job {name}: scrape_interval or module {module_name} "
                             f"timeout: {exc}") from None
        protocol, build = prober
        options = getattr(module, module.prober)
        for group in job.static_configs:
            for target in group.targets:
                cid = group.labels.get("slawatch_contract") or contract
                if not cid:
                    out.skipped.append((f"{name}: {target}", "no contract: label it slawatch_contract or "
                                                             "pass --contract"))
                    continue
                try:
                    config = build(target, options)
                except (ValueError, TypeError, AttributeError) as exc:  # an option of the wrong kind
                    raise ValueError(f"{blackbox_yml}: modules.{module_name}.{module.prober}: {exc}") from None
                out.targets.append({
                    "id": ident("bb", name, target.split("://")[-1]), "contract_id": cid, "protocol": protocol,
                    "config": config, "interval": interval, "timeout": timeout,
                    "category": group.labels.get("slawatch_category") or category
                    or CATEGORY.get(protocol, DEFAULT_CATEGORY)})
    return out
