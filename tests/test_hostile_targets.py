"""Hostile probe targets (tests/peers/hostile.py, a process of its own on
loopback): endless and slow bodies, endless headers, banners and greetings, a
chunk declared as 2**60 bytes, a TLS handshake that never comes, a 64 KB DNS
reply. Each gets its stable error within its timeout; together, thirteen of
them running beside 200 ordinary targets cost under 50 MB and delay no other
target's start by more than 50 ms (p99)."""
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from probes import PROBES, TARGETS
from probes.scheduler import Job, Scheduler

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them

HOSTILE = Path(__file__).parent / "peers" / "hostile.py"
NEVER = "this text is never in the body"


@pytest.fixture(scope="module")
def hostile():
    p = subprocess.Popen([sys.executable, str(HOSTILE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield json.loads(p.stdout.readline())
    finally:
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


@pytest.mark.parametrize("name", sorted(cases({m: 1 for m in [
    "http_endless_chunked", "http_huge_chunk", "http_endless_body", "http_endless_headers",
    "http_endless_header_line", "http_slow_body", "imap_endless_greeting", "imap_endless_lines",
    "pop3_endless_banner", "smtp_endless_banner", "tcp_endless_banner", "tls_stall", "dns_huge"]})))
def test_each_hostile_target_gets_its_stable_error_in_time(hostile, name):
    protocol, config, errors = cases(hostile)[name]
    timeout = 2.0
    t0 = time.monotonic()
    r = asyncio.run(PROBES[protocol](TARGETS[protocol].model_validate(config), timeout))
    took = time.monotonic() - t0
    assert not r.ok and r.error in errors, (r.error, r.detail)
    assert took < timeout + 0.5, took


def test_thirteen_hostile_targets_beside_200_ordinary_ones(hostile):
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    ordinary = listener.getsockname()[1]

    def accept():  # an ordinary server: accepts and hangs up
        while True:
            try:
                listener.accept()[0].close()
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()

    async def go():
        errors: dict[str, set[str]] = {}

        async def sink(job, result):
            errors.setdefault(job.key, set()).add(result.error)
        sched = Scheduler(PROBES, sink)
        for name, (protocol, config, _) in cases(hostile).items():
            sched.add(Job(name, protocol, TARGETS[protocol].model_validate(config), interval=2.0, timeout=1.5))
        for i in range(200):
            sched.add(Job(f"ok-{i}", "tcp", TARGETS["tcp"].model_validate({"host": "127.0.0.1", "port": ordinary}),
                          interval=1.0, timeout=1.0))
        before, peak = rss_mb(), 0.0
        stop = asyncio.Event()
        task = asyncio.create_task(sched.run(stop))
        for _ in range(40):  # 8 s: four rounds of every hostile target
            await asyncio.sleep(0.2)
            peak = max(peak, rss_mb())
        stop.set()
        await task
        return errors, sched.stats, peak - before
    try:
        errors, stats, grown = asyncio.run(go())
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
    expected = {name: want for name, (_, _, want) in cases(hostile).items()}
    for name, want in expected.items():
        # the hostile process is busy feeding twelve endless streams: a slow start may time out instead
        assert errors.get(name) and all(e in want or e.startswith("timeout:") for e in errors[name]), \
            (name, errors.get(name))
        assert errors[name] & want, (name, errors[name])
    assert all(errors[f"ok-{i}"] == {None} for i in range(200))
    assert grown < 50, f"RSS grew {grown:.1f} MB"
    assert stats.drift_quantile(0.99) < 0.05, stats.drift_quantile(0.99)
