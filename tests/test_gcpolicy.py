"""The collector's policy in a long-running process: what has lived a few seconds is
frozen out of the collector's view, and handed back and collected at every sweep."""
import asyncio
import gc

import app.gcpolicy as gcpolicy
from tests.peers.util import until


def test_objects_are_frozen_and_swept_back(monkeypatch):
    calls = []
    unfreeze = gc.unfreeze
    monkeypatch.setattr(gcpolicy.gc, "unfreeze", lambda: (calls.append("unfreeze"), unfreeze()))
    monkeypatch.setattr(gcpolicy.gc, "collect", lambda: calls.append("collect"))

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(gcpolicy.keep_collections_short(stop, freeze_every=0.01, sweep_every=0.05))
        kept = [object() for _ in range(1000)]  # noqa: F841 — objects that live through a round
        frozen_first = await until(lambda: gc.get_freeze_count() > 0, timeout=10)
        swept_and_frozen = await until(lambda: "collect" in calls and gc.get_freeze_count() > 0, timeout=10)
        stop.set()
        await task
        return frozen_first and swept_and_frozen
    try:
        frozen = asyncio.run(go())
    finally:
        unfreeze()
    assert frozen
    assert calls[:2] == ["unfreeze", "collect"]  # handed back, then collected once
