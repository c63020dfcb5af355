"""Scheduler capacity on one core.

1. Hold: 10,000 TCP targets at a 60 s interval for 3 minutes, pinned to one
   core: p99 start drift (target < 50 ms), CPU share of the core (target < 10 %),
   and nothing skipped (started = due).
2. Ramp: the same 10,000 targets at shorter intervals until the core is full,
   to find the one-core ceiling in probes/s (target ≥ 5,000/s).

The loopback target server runs pinned to the other core.
    .venv/bin/python benchmarks/scheduler.py [--hold 180] [--step 10] [--loop uvloop]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.probes import free_port

WORKER = """
import asyncio, json, os, sys, time
sys.path.insert(0, {root!r})
os.sched_setaffinity(0, {{{core}}})
from benchmarks._cpu import cpu_seconds
from probes import PROBES
from probes.scheduler import Job, Scheduler
from probes.tcp import TcpTarget
if {loop!r} == "uvloop":
    import uvloop; uvloop.install()

async def main():
    n, interval, seconds = {n}, {interval}, {seconds}
    done = 0
    async def sink(job, result):
        nonlocal done
        done += 1
    sched = Scheduler(PROBES, sink, concurrency=5000)
    target = TcpTarget(host="127.0.0.1", port={port})
    for i in range(n):
        sched.add(Job(f"t{{i}}", "tcp", target, interval=interval, timeout=min(5.0, interval)))
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    await asyncio.sleep(interval)  # one full round to settle
    sched.stats.drift.clear()
    c0, s0, t0 = cpu_seconds(), sched.stats.started, time.monotonic()
    await asyncio.sleep(seconds)
    c1, s1, t1 = cpu_seconds(), sched.stats.started, time.monotonic()
    stop.set()
    await task
    print(json.dumps({{"started": s1 - s0, "due": n * (t1 - t0) / interval, "cpu": c1 - c0, "wall": t1 - t0,
                      "p99": sched.stats.drift_quantile(0.99), "p50": sched.stats.drift_quantile(0.5)}}))

asyncio.run(main())
"""


def run_worker(n, interval, seconds, port, loop, core) -> dict:
    code = WORKER.format(root=str(ROOT), core=core, loop=loop, n=n, interval=interval, seconds=seconds, port=port)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=seconds + interval + 120)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hold", type=float, default=180.0)
    ap.add_argument("--step", type=float, default=10.0)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    args = ap.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    probe_core, server_core = cores[0], cores[-1]
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", str(server_core), sys.executable,
                               str(ROOT / "benchmarks/_target_server.py"), str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        r = run_worker(10_000, 60.0, args.hold, port, args.loop, probe_core)
        share = r["cpu"] / r["wall"]
        print(f"hold: 10,000 TCP targets @ 60 s for {r['wall']:.0f} s on one core ({args.loop}): "
              f"started {r['started']} of {r['due']:.0f} due, drift p50 {r['p50'] * 1000:.1f} ms, "
              f"p99 {r['p99'] * 1000:.1f} ms (target < 50), CPU {share * 100:.1f} % of the core (target < 10 %)")
        ceiling = 0.0
        for rate in (1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000):
            r = run_worker(10_000, 10_000 / rate, args.step, port, args.loop, probe_core)
            achieved, share = r["started"] / r["wall"], r["cpu"] / r["wall"]
            kept = achieved >= 0.95 * rate and r["p99"] < 1.0
            print(f"ramp: asked {rate:>5}/s  started {achieved:>7.0f}/s  drift p99 {r['p99'] * 1000:>7.1f} ms  "
                  f"CPU {share * 100:5.1f} %  {'kept up' if kept else 'saturated'}")
            if not kept:
                break
            ceiling = achieved
        print(f"one-core ceiling: {ceiling:,.0f} probes/s (target >= 5,000/s); ratio {ceiling / 5000:.2f}x")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
