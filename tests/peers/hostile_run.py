"""Hostile targets for the probes: what each is expected to fail with, and a run
of all of them beside ordinary targets on one scheduler (the test asserts the
errors and memory; benchmarks/hostile.py prints the start drift)."""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

from probes import PROBES, TARGETS
from probes.scheduler import Job, Scheduler
from tests.peers.util import until

SERVER = Path(__file__).with_name("hostile.py")
NEVER = "this text is never in the body"


def start_servers() -> tuple[subprocess.Popen, dict[str, int]]:
    """The hostile servers, in a process of their own; close its stdin to stop it."""
    p = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())


def stop_servers(p: subprocess.Popen) -> None:
    p.stdin.close()
    p.wait(timeout=10)
    p.stdout.close()


def cases(ports: dict) -> dict[str, tuple[str, dict, set[str]]]:
    """name → (protocol, target config, acceptable stable errors)."""
    def url(mode):
        return f"http://127.0.0.1:{ports[mode]}/"
    return {
        "http_endless_chunked": ("http", {"url": url("http_endless_chunked"), "body_regex": NEVER}, {"too_large:body"}),
        "http_huge_chunk": ("http", {"url": url("http_huge_chunk"), "body_regex": NEVER}, {"too_large:body"}),
        "http_endless_body": ("http", {"url": url("http_endless_body"), "body_regex": NEVER}, {"too_large:body"}),
        "http_endless_headers": ("http", {"url": url("http_endless_headers")}, {"too_many_headers"}),
        "http_endless_header_line": ("http", {"url": url("http_endless_header_line")}, {"line_too_long"}),
        "http_slow_body": ("http", {"url": url("http_slow_body")}, {"timeout:transfer"}),
        "imap_endless_greeting": ("imap", {"host": "127.0.0.1", "port": ports["imap_endless_greeting"],
                                           "username": "u", "password": "p"}, {"line_too_long"}),
        "imap_endless_lines": ("imap", {"host": "127.0.0.1", "port": ports["imap_endless_lines"],
                                        "username": "u", "password": "p"}, {"too_large:response"}),
        "imap_lines_after_greeting": ("imap", {"host": "127.0.0.1", "port": ports["imap_lines_after_greeting"],
                                               "username": "u", "password": "p"}, {"too_large:response"}),
        "pop3_endless_banner": ("pop3", {"host": "127.0.0.1", "port": ports["pop3_endless_banner"],
                                         "username": "u", "password": "p"}, {"line_too_long"}),
        "smtp_endless_banner": ("smtp", {"host": "127.0.0.1", "port": ports["smtp_endless_banner"]},
                                {"line_too_long"}),
        "tcp_endless_banner": ("tcp", {"host": "127.0.0.1", "port": ports["tcp_endless_banner"], "expect": "^220 "},
                               {"expect:no_match"}),
        "tls_stall": ("tls", {"host": "127.0.0.1", "port": ports["tls_stall"]}, {"timeout:tls"}),
        "dns_huge": ("dns", {"server": "127.0.0.1", "port": ports["dns_huge"], "name": "example.com"},
                     {"dns:malformed", "too_large:response"}),
    }


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ordinary_server() -> socket.socket:
    """An ordinary TCP server: accepts and hangs up (close it to stop)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)

    def accept():
        while True:
            try:
                listener.accept()[0].close()
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    return listener


async def run_beside(ports: dict, ordinary: int, n: int = 200, rounds: int = 4, timeout: float = 60.0):
    """Every hostile target (2 s interval) beside ``n`` ordinary ones (1 s) until each
    hostile one has run ``rounds`` times; (outcomes by job, scheduler stats, RSS growth in MB)."""
    outcomes: dict[str, list] = {}
    before = peak = rss_mb()

    async def sink(job, result):
        nonlocal peak
        outcomes.setdefault(job.key, []).append(result.error)
        peak = max(peak, rss_mb())
    sched = Scheduler(PROBES, sink)
    hostile = cases(ports)
    for name, (protocol, config, _) in hostile.items():
        sched.add(Job(name, protocol, TARGETS[protocol].model_validate(config), interval=2.0, timeout=1.5))
    for i in range(n):
        sched.add(Job(f"ok-{i}", "tcp", TARGETS["tcp"].model_validate({"host": "127.0.0.1", "port": ordinary}),
                      interval=1.0, timeout=1.0))
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    await until(lambda: all(len(outcomes.get(name, ())) >= rounds for name in hostile), timeout, every=0.1)
    stop.set()
    await task
    return outcomes, sched.stats, peak - before
