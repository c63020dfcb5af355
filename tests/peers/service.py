"""``slawatch run`` as a user starts it, on loopback, for the peer tests: its own
SQLite file, public URL and data folder, tokens made with the CLI, a log file,
stopped (SIGTERM) at the end."""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.peers.util import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "app.cli"]


@dataclass
class Running:
    base: str
    port: int
    env: dict
    log: Path
    pid: int = 0

    def token(self, role: str, customer: str | None = None) -> str:
        extra = ["--customer", customer] if customer else []
        return subprocess.run([*CLI, "tokens", "create", "--role", role, *extra], cwd=ROOT, env=self.env,
                              check=True, capture_output=True, text=True).stdout.strip()

    def api(self, role: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token(role)}"}, timeout=30)


@contextmanager
def slawatch_run(tmp_path: Path, **settings: str):
    """Yield the running service; ``settings`` are ``SLAWATCH_*`` variables without the prefix."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/slawatch.db",
           "SLAWATCH_PUBLIC_URL": base, "SLAWATCH_DATA_DIR": str(tmp_path / "data"),
           **{f"SLAWATCH_{k.upper()}": v for k, v in settings.items()}}
    running = Running(base, port, env, tmp_path / "run.log")
    with open(running.log, "w") as log:
        proc = subprocess.Popen([*CLI, "run", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
        running.pid = proc.pid
        try:
            wait_port(port, 30)
            yield running
        finally:
            proc.terminate()
            proc.wait(timeout=30)
