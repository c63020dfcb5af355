"""slawatch's whole probe path for the benchmark: the scheduler with N targets at
a fixed rate, real ProbeResult objects, and a sink that batches them as the
service's writer does. Prints JSON: probes completed and CPU seconds (from /proc)
over the measured window."""
import asyncio
import json
import sys
import time

sys.path.insert(0, sys.argv[1])

from benchmarks._cpu import cpu_seconds
from probes import PROBES
from probes.http import HttpTarget
from probes.scheduler import Job, Scheduler
from probes.tcp import TcpTarget


async def main(proto: str, rate: float, n: int, port: int, warmup: float, seconds: float) -> None:
    batch: list = []
    counts = {"ok": 0, "failed": 0}

    async def sink(job, result):
        batch.append((job.key, result))
        counts["ok" if result.ok else "failed"] += 1
        if len(batch) >= 500:
            batch.clear()  # the service hands the batch to its database writer here

    sched = Scheduler(PROBES, sink, concurrency=2000)
    interval = n / rate
    for i in range(n):
        target = (HttpTarget(url=f"http://127.0.0.1:{port}/t{i}") if proto == "http"
                  else TcpTarget(host="127.0.0.1", port=port))
        sched.add(Job(f"{proto}-{i}", proto, target, interval=interval, timeout=min(5.0, interval)))
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    await asyncio.sleep(warmup)
    c0, n0, t0 = cpu_seconds(), sched.stats.completed, time.monotonic()
    await asyncio.sleep(seconds)
    c1, n1, t1 = cpu_seconds(), sched.stats.completed, time.monotonic()
    stop.set()
    await task
    print(json.dumps({"probes": n1 - n0, "cpu": c1 - c0, "wall": t1 - t0, "failed": counts["failed"],
                      "drift_p99": sched.stats.drift_quantile(0.99)}))


if __name__ == "__main__":
    root, proto, rate, n, port, warmup, seconds, loop = sys.argv[1:9]
    if loop == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(proto, float(rate), int(n), int(port), float(warmup), float(seconds)))
