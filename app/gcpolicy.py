"""Garbage collection for a long-running process that holds a large state replaced a
little at a time (10,000 contracts' reports, windows and rows): a full collection walks
every tracked object — about 100 ms at 10,000 contracts, a few times a minute, each one
a stall of the probes' loop (py-spy: 13 % of the busy samples, the start drift's p99).
What has lived through a few seconds is moved out of the collector's view
(``gc.freeze``), so collections look only at what is new; every ``SWEEP_SECONDS`` the
frozen objects are handed back and collected once, so cyclic garbage among them is
still reclaimed (one pause per sweep instead of one every few seconds)."""
from __future__ import annotations

import asyncio
import gc
import time

from app.pause import stopped_within

FREEZE_SECONDS = 10.0
SWEEP_SECONDS = 600.0


async def keep_collections_short(stop: asyncio.Event, freeze_every: float = FREEZE_SECONDS,
                                 sweep_every: float = SWEEP_SECONDS) -> None:
    swept = time.monotonic()
    while not await stopped_within(stop, freeze_every):
        if time.monotonic() - swept >= sweep_every:
            gc.unfreeze()
            gc.collect()
            swept = time.monotonic()
        gc.freeze()
