"""The portal's pages under load: ``slawatch run`` on SQLite with N contracts, each
with an open incident (so the NOC board lists three windows per contract), signed
in through one-time links; each page asked by a few concurrent users for a while.
Prints requests/s and p50/p99 per page (goal: p99 < 100 ms at 500 contracts,
issue #17):

    .venv/bin/python benchmarks/portal.py [--contracts 500] [--seconds 10] [--concurrency 4]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx

from benchmarks.probes import free_port, wait_port
from benchmarks.whole import database, seed


async def load(client: httpx.AsyncClient, path: str, seconds: float, concurrency: int) -> list[float]:
    times: list[float] = []
    end = time.monotonic() + seconds

    async def user() -> None:
        while time.monotonic() < end:
            t0 = time.perf_counter()
            r = await client.get(path)
            times.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"{path}: {r.status_code}")
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return times


def signed_in(base: str, api: httpx.Client, body: dict) -> httpx.AsyncClient:
    url = api.post("/v1/portal/links", json=body).json()["url"]
    client = httpx.AsyncClient(base_url=base, timeout=30)
    r = httpx.post(url, follow_redirects=False)
    client.cookies.set("slw_session", r.cookies["slw_session"])
    return client


async def measure(base: str, api: httpx.Client, seconds: float, concurrency: int) -> None:
    period = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    pages = [({"customer_id": "bench"}, "/portal/"),
             ({"customer_id": "bench"}, f"/portal/contracts/c7?period={period}"),
             ({"role": "noc"}, "/portal/noc"),
             ({"role": "noc"}, "/portal/noc/board.json")]
    for who, path in pages:
        async with signed_in(base, api, who) as client:
            await load(client, path, 1.0, concurrency)  # warm-up
            times = sorted(await load(client, path, seconds, concurrency))
        p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(0.99 * len(times)))]
        print(f"{path:42s} {len(times) / seconds:7.0f} req/s  p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms"
              f"  (goal p99 < 100 ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contracts", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="portal"))
    url, schema = database("sqlite", tmp, "portal")
    asyncio.run(seed(url, schema, 0, 60.0, 9, 0, args.contracts))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SLAWATCH_DATABASE_URL": url, "SLAWATCH_DATA_DIR": str(tmp / "data"),
           "SLAWATCH_LOG_LEVEL": "warning", "SLAWATCH_PUBLIC_URL": base}
    token = subprocess.run([sys.executable, "-m", "app.cli", "tokens", "create", "--role", "admin"], cwd=ROOT,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        print(f"{args.contracts} contracts with an open incident each, {args.concurrency} users per page, "
              f"{args.seconds:.0f} s each:")
        asyncio.run(measure(base, api, args.seconds, args.concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
