"""Prometheus + blackbox_exporter: the scrape jobs of ``prometheus.yml`` whose
metrics path is ``/probe`` name a module of ``blackbox.yml`` (``params.module``) and
list the probed targets in ``static_configs`` (blackbox's relabelling moves each
to ``?target=``). Each becomes a slawatch target of that module's prober (http,
tcp, icmp, dns) with the job's scrape interval and the module's timeout."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.importers import CATEGORY, DEFAULT_CATEGORY, Proposals, ident

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_BYTES = 4 * 1024 * 1024  # a configuration, not a dump


def seconds(text, default: float) -> float:
    """A Prometheus duration (``15s``, ``1m30s``, ``500ms``) in seconds."""
    if text in (None, ""):
        return default
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise ValueError(f"{text!r} is not a duration")
    return sum(int(n) * UNITS[u] for n, u in parts)


def _load(path: Path) -> dict:
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BYTES} bytes")
    try:
        doc = yaml.safe_load(data) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a mapping at the top")
    return doc


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
    prom, bb = _load(prometheus_yml), _load(blackbox_yml)
    modules = bb.get("modules") or {}
    try:
        default_interval = seconds((prom.get("global") or {}).get("scrape_interval"), 60)
    except ValueError as exc:
        raise ValueError(f"{prometheus_yml}: global.scrape_interval: {exc}") from None
    out = Proposals()
    for job in prom.get("scrape_configs") or []:
        name = str(job.get("job_name", "?"))
        if job.get("metrics_path") != "/probe":
            continue  # not a blackbox job
        module_name = ((job.get("params") or {}).get("module") or ["http_2xx"])[0]
        module = modules.get(module_name)
        if module is None:
            out.skipped.append((f"job {name}", f"module {module_name!r} is not in {blackbox_yml.name}"))
            continue
        prober = PROBERS.get(module.get("prober"))
        if prober is None:
            out.skipped.append((f"job {name}", f"prober {module.get('prober')!r} has no slawatch probe "
                                               f"(imported: {', '.join(PROBERS)})"))
            continue
        if not job.get("static_configs"):
            kinds = [k for k in job if k.endswith("_sd_configs")]
            out.skipped.append((f"job {name}", f"its targets come from {', '.join(kinds) or 'nowhere'}: "
                                               "only static_configs are read"))
            continue
        try:
            interval = seconds(job.get("scrape_interval"), default_interval)
            timeout = min(seconds(module.get("timeout"), 5.0), interval)
        except ValueError as exc:
            raise ValueError(f"{prometheus_yml}: job {name}: scrape_interval or module {module_name} "
                             f"timeout: {exc}") from None
        protocol, build = prober
        options = module.get(module["prober"]) or {}
        for group in job["static_configs"]:
            labels = group.get("labels") or {}
            for target in group.get("targets") or []:
                cid = labels.get("slawatch_contract") or contract
                if not cid:
                    out.skipped.append((f"{name}: {target}", "no contract: label it slawatch_contract or "
                                                             "pass --contract"))
                    continue
                out.targets.append({
                    "id": ident("bb", name, target.split("://")[-1]), "contract_id": cid, "protocol": protocol,
                    "config": build(str(target), options), "interval": interval, "timeout": timeout,
                    "category": labels.get("slawatch_category") or category
                    or CATEGORY.get(protocol, DEFAULT_CATEGORY)})
    return out
