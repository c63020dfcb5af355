"""Probe cost: slawatch vs Prometheus' blackbox_exporter, side by side on loopback.

Both probe the same 1,000 HTTP and 1,000 TCP targets at the same fixed rate
(100/s and 300/s), a fresh connection per probe. Prints CPU ms per probe for
each process as a whole (from /proc) and the ratio. slawatch's side is its whole
probe path: scheduler, ProbeResult objects, a batching sink.
Targets: ≤ 0.6× blackbox_exporter for HTTP, ≤ 0.4× for TCP.

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


async def drive_blackbox(bb_port: int, proto: str, rate: float, target_port: int, seconds: float) -> int:
    """Ask blackbox_exporter for probes at a fixed rate, as Prometheus would; count the answers."""
    module = "http_2xx" if proto == "http" else "tcp_connect"
    done = 0

    async def one(i: int) -> None:
        nonlocal done
        target = f"http://127.0.0.1:{target_port}/t{i}" if proto == "http" else f"127.0.0.1:{target_port}"
        r, w = await asyncio.open_connection("127.0.0.1", bb_port)
        w.write(f"GET /probe?module={module}&target={target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        body = await r.read()
        w.close()
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
    return done


def measure_blackbox(bb: subprocess.Popen, bb_port, proto, rate, target_port, seconds) -> dict:
    asyncio.run(drive_blackbox(bb_port, proto, rate, target_port, 2))  # warm-up
    c0 = cpu_seconds(bb.pid)
    done = asyncio.run(drive_blackbox(bb_port, proto, rate, target_port, seconds))
    return {"probes": done, "cpu": cpu_seconds(bb.pid) - c0}


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
    (tmp / "blackbox.yml").write_text("""modules:
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
    with peers(Path(tempfile.mkdtemp(prefix="bench"))) as (bb, bb_port, target_port):
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


if __name__ == "__main__":
    main()
