"""Hostile probe targets (tests/peers/hostile.py, a process of its own on
loopback): endless and slow bodies, endless headers, banners and greetings, a
chunk declared as 2**60 bytes, a TLS handshake that never comes, a 64 KB DNS
reply. Each gets its stable error within its timeout; together, fourteen of
them running beside 200 ordinary targets cost under 50 MB. (How late other
targets start meanwhile is measured by benchmarks/hostile.py.)"""
import asyncio
import socket
import time

import pytest

from probes import PROBES, TARGETS
from tests.peers.hostile_run import (
    cases,
    ordinary_server,
    run_beside,
    start_servers,
    stop_servers,
)

pytestmark = pytest.mark.peers  # real servers, processes or databases: `pytest -m 'not peers'` skips them
MODES = ["http_endless_chunked", "http_huge_chunk", "http_endless_body", "http_endless_headers",
         "http_endless_header_line", "http_slow_body", "imap_endless_greeting", "imap_endless_lines",
         "imap_lines_after_greeting",
         "pop3_endless_banner", "smtp_endless_banner", "tcp_endless_banner", "tls_stall", "dns_huge"]


@pytest.fixture(scope="module")
def hostile():
    p, ports = start_servers()
    try:
        yield ports
    finally:
        stop_servers(p)


SPEAKS_FIRST = ("imap_", "pop3_", "smtp_", "tcp_")  # servers that greet: they are answering before the probe


def greeting(port: int) -> bytes:
    """The hostile server's first bytes: it accepts and answers now (a loaded machine can
    starve its process for a moment; the probe's own 2 s must measure the probe, not that)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(10)
        return s.recv(1)


@pytest.mark.parametrize("name", sorted(MODES))
def test_each_hostile_target_gets_its_stable_error_in_time(hostile, name):
    protocol, config, errors = cases(hostile)[name]
    if name.startswith(SPEAKS_FIRST):
        assert greeting(config["port"])
    timeout = 2.0
    t0 = time.monotonic()
    r = asyncio.run(PROBES[protocol](TARGETS[protocol].model_validate(config), timeout))
    took = time.monotonic() - t0
    assert not r.ok and r.error in errors, (r.error, r.detail)
    assert took < timeout + 0.5, took  # the whole probe is bounded by its timeout, not each read


def test_fourteen_hostile_targets_beside_200_ordinary_ones(hostile):
    listener = ordinary_server()
    try:
        outcomes, stats, grown = asyncio.run(run_beside(hostile, listener.getsockname()[1]))
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
    for name, (_, _, want) in cases(hostile).items():
        seen = set(outcomes.get(name, ()))
        # the hostile process is busy feeding twelve endless streams: a slow start may time out instead
        assert len(outcomes.get(name, ())) >= 4 and all(e in want or e.startswith("timeout:") for e in seen), \
            (name, seen)
        assert seen & want, (name, seen)
    assert all(set(outcomes[f"ok-{i}"]) == {None} for i in range(200))
    assert grown < 50, f"RSS grew {grown:.1f} MB"
