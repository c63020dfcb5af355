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
