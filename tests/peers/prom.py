"""Debian's Prometheus and Alertmanager on loopback, each from a config file the
test wrote, with its data in the test's folder."""
from __future__ import annotations

import subprocess
from pathlib import Path


def prometheus(config: Path, data: Path, port: int, *flags: str) -> subprocess.Popen:
    return subprocess.Popen(["/usr/bin/prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
                             f"--web.listen-address=127.0.0.1:{port}", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def alertmanager(config: Path, data: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(["/usr/bin/prometheus-alertmanager", f"--config.file={config}", f"--storage.path={data}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def probe_job(name: str, exporter: str, targets: list[str], module: str = "http_2xx",
              token_file: Path | None = None) -> str:
    """A scrape job as README shows it for blackbox_exporter (or slawatch's /probe, with
    its scrape token): the usual relabelling from ``__address__`` to ``?target=``."""
    auth = f"    authorization:\n      credentials_file: {token_file}\n" if token_file else ""
    return f"""
  - job_name: {name}
    metrics_path: /probe
{auth}    params:
      module: [{module}]
    static_configs:
      - targets: {list(targets)}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {exporter}
"""
