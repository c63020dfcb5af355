"""The collector's policy in a long-running process: what has lived a few seconds is
frozen out of the collector's view, and handed back and collected at every sweep."""
import asyncio
import gc

import app.gcpolicy as gcpolicy


def test_objects_are_frozen_and_swept_back(monkeypatch):
    calls = []
    unfreeze = gc.unfreeze
    monkeypatch.setattr(gcpolicy.gc, "unfreeze", lambda: (calls.append("unfreeze"), unfreeze()))
    monkeypatch.setattr(gcpolicy.gc, "collect", lambda: calls.append("collect"))

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(gcpolicy.keep_collections_short(stop, freeze_every=0.01, sweep_every=0.05))
        kept = [object() for _ in range(1000)]  # noqa: F841 — objects that live through a round
        frozen = 0
        for _ in range(500):  # bounded: until a sweep has happened and things are frozen again
            await asyncio.sleep(0.01)
            frozen = max(frozen, gc.get_freeze_count())
            if "collect" in calls and gc.get_freeze_count() > 0:
                break
        stop.set()
        await task
        return frozen
    try:
        frozen = asyncio.run(go())
    finally:
        unfreeze()
    assert frozen > 0
    assert calls[:2] == ["unfreeze", "collect"]  # handed back, then collected once
