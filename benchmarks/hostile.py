"""Thirteen hostile targets (tests/peers/hostile.py) beside N ordinary ones on one
scheduler: how late the other targets start (drift p99; goal < 50 ms) and how
much memory the process gains (goal < 50 MB).

    .venv/bin/python benchmarks/hostile.py [--ordinary 200] [--rounds 4]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.peers.hostile_run import (
    ordinary_server,
    run_beside,
    start_servers,
    stop_servers,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ordinary", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    proc, ports = start_servers()
    listener = ordinary_server()
    try:
        outcomes, stats, grown = asyncio.run(run_beside(ports, listener.getsockname()[1], args.ordinary, args.rounds))
    finally:
        listener.close()
        stop_servers(proc)
    p99 = stats.drift_quantile(0.99)
    print(f"13 hostile + {args.ordinary} ordinary targets, {stats.started} probes: start drift p99 "
          f"{p99 * 1000:.1f} ms (goal < 50 ms, {p99 / 0.05:.2f}x of it), RSS +{grown:.1f} MB (goal < 50 MB)")


if __name__ == "__main__":
    main()
