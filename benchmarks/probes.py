"""Probe cost: slawatch vs Prometheus' blackbox_exporter, side by side on loopback.

Both probe the same 1,000 HTTP and 1,000 TCP targets at the same fixed rate
(100/s and 300/s), a fresh connection per probe. Prints CPU ms per probe for
each process as a whole (from /proc) and the ratio.

First table: slawatch's probe path for stored targets (scheduler, ProbeResult
objects, a batching sink) against blackbox_exporter asked over HTTP as
Prometheus asks it. Targets: ≤ 0.6× blackbox_exporter for HTTP, ≤ 0.4× for TCP.
Second table: ``GET /probe`` against ``GET /probe`` — ``slawatch run`` (the whole
service, its background loops included) and blackbox_exporter reading the same
modules file, each asked over kept-alive connections with the scrape-timeout
header, as Prometheus asks. No target: it shows what a scrape costs each.

    .venv/bin/python benchmarks/probes.py [--seconds 10] [--loop asyncio|uvloop]
Needs Debian's prometheus-blackbox-exporter (scripts/install-peers.sh).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._cpu import cpu_seconds

BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"
N = 1000
TARGETS = {"http": 0.6, "tcp": 0.4}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing on port {port}")


async def drive_blackbox(bb_port: int, proto: str, rate: float, target_port: int, seconds: float,
                         token: str | None = None, connections: int = 32) -> int:
    """Ask blackbox_exporter (or slawatch's /probe, with a scrape token) for probes at a
    fixed rate, as Prometheus would: over kept-alive connections (Prometheus's client
    reuses them), each scrape with the scrape-timeout header. Counts the answers."""
    module = "http_2xx" if proto == "http" else "tcp_connect"
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    done = 0
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", bb_port))

    async def one(i: int) -> None:
        nonlocal done
        target = f"http://127.0.0.1:{target_port}/t{i}" if proto == "http" else f"127.0.0.1:{target_port}"
        r, w = await pool.get()
        try:
            w.write(f"GET /probe?module={module}&target={target} HTTP/1.1\r\nHost: x\r\n{auth}"
                    "X-Prometheus-Scrape-Timeout-Seconds: 5\r\n\r\n".encode())
            head = (await r.readuntil(b"\r\n\r\n")).lower()
            if b"transfer-encoding: chunked" in head:  # Go's server chunks a longer answer
                body = b""
                while size := int((await r.readuntil(b"\r\n")).strip(), 16):
                    body += (await r.readexactly(size + 2))[:-2]
                await r.readexactly(2)
            else:
                length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                body = await r.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            w.close()
            pool.put_nowait(await asyncio.open_connection("127.0.0.1", bb_port))
            return
        pool.put_nowait((r, w))
        if b"probe_success 1" in body:
            done += 1

    tasks, start, i = set(), time.monotonic(), 0
    while (now := time.monotonic()) - start < seconds:
        due = start + i / rate
        if now < due:
            await asyncio.sleep(due - now)
        t = asyncio.create_task(one(i % N))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        i += 1
    await asyncio.gather(*tasks, return_exceptions=True)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return done


def measure_blackbox(bb: subprocess.Popen, bb_port, proto, rate, target_port, seconds, token=None) -> dict:
    asyncio.run(drive_blackbox(bb_port, proto, rate, target_port, 2, token))  # warm-up
    c0 = cpu_seconds(bb.pid)
    done = asyncio.run(drive_blackbox(bb_port, proto, rate, target_port, seconds, token))
    return {"probes": done, "cpu": cpu_seconds(bb.pid) - c0}


@contextmanager
def slawatch_probe_endpoint(tmp: Path):
    """``slawatch run`` with the same modules file, for /probe side by side: (process, port, scrape token)."""
    env = {**os.environ, "SLAWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
           "SLAWATCH_PROBE_MODULES": str(tmp / "blackbox.yml"), "SLAWATCH_DATA_DIR": str(tmp / "data"),
           "SLAWATCH_PROBE_CONCURRENCY": "2000"}
    cli = [sys.executable, "-m", "app.cli"]
    token = subprocess.run([*cli, "tokens", "create", "--role", "scrape"], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    port = free_port()
    proc = subprocess.Popen([*cli, "run", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield proc, port, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure_slawatch(proto, rate, target_port, seconds, loop) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks/_slawatch_worker.py"), str(ROOT), proto, str(rate),
                          str(N), str(target_port), str(max(3.0, N / rate)), str(seconds), loop],
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout)


@contextmanager
def peers(tmp: Path):
    """The loopback target server and blackbox_exporter (its modules for HTTP and TCP),
    each in its own process so neither's CPU is counted as anybody's probe cost.
    Yields (blackbox process, blackbox port, target port)."""
    if not os.access(BLACKBOX, os.X_OK):
        sys.exit(f"{BLACKBOX} missing: run scripts/install-peers.sh")
    (tmp / "blackbox.yml").write_text("""modules:  # read unchanged by both
  http_2xx: {prober: http, timeout: 5s, http: {preferred_ip_protocol: ip4}}
  tcp_connect: {prober: tcp, timeout: 5s, tcp: {preferred_ip_protocol: ip4}}
""")
    target_port, bb_port = free_port(), free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "benchmarks/_target_server.py"), str(target_port)],
                              stdout=subprocess.PIPE, text=True)
    bb = subprocess.Popen([BLACKBOX, f"--config.file={tmp}/blackbox.yml", f"--web.listen-address=127.0.0.1:{bb_port}",
                           "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server.stdout.readline()
        wait_port(bb_port)
        yield bb, bb_port, target_port
    finally:
        for p in (bb, server):
            p.terminate()
            p.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench"))
    with peers(tmp) as (bb, bb_port, target_port):
        print(f"{N} targets per protocol, fresh connection per probe, {args.seconds:.0f} s per run, loop={args.loop}")
        print(f"{'protocol':8} {'rate':>6} {'blackbox ms/probe':>18} {'slawatch ms/probe':>18} "
              f"{'ratio':>7} {'target':>7}")
        for proto in ("http", "tcp"):
            for rate in (100, 300):
                b = measure_blackbox(bb, bb_port, proto, rate, target_port, args.seconds)
                s = measure_slawatch(proto, rate, target_port, args.seconds, args.loop)
                bms, sms = 1000 * b["cpu"] / max(b["probes"], 1), 1000 * s["cpu"] / max(s["probes"], 1)
                print(f"{proto:8} {rate:>5}/s {bms:>18.3f} {sms:>18.3f} {sms / bms:>6.2f}x {TARGETS[proto]:>6.1f}x"
                      f"   (probes: blackbox {b['probes']}, slawatch {s['probes']}, failed {s['failed']}, "
                      f"slawatch drift p99 {s['drift_p99'] * 1000:.1f} ms)")
        # /probe beside /probe: what Prometheus pays each exporter per scrape, HTTP serving included
        print(f"\nGET /probe side by side (each process whole; slawatch checks its scrape token), {args.seconds:.0f} s")
        with slawatch_probe_endpoint(tmp) as (sw, sw_port, token):
            for proto in ("http", "tcp"):
                for rate in (100, 300):
                    b = measure_blackbox(bb, bb_port, proto, rate, target_port, args.seconds)
                    s = measure_blackbox(sw, sw_port, proto, rate, target_port, args.seconds, token)
                    bms, sms = 1000 * b["cpu"] / max(b["probes"], 1), 1000 * s["cpu"] / max(s["probes"], 1)
                    print(f"{proto:8} {rate:>5}/s {bms:>18.3f} {sms:>18.3f} {sms / bms:>6.2f}x {'-':>7}"
                          f"   (probes answered: blackbox {b['probes']}, slawatch {s['probes']})")


if __name__ == "__main__":
    main()
