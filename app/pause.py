"""The background loops' pause: wait ``seconds``, or less if the process is stopping."""
from __future__ import annotations

import asyncio


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """True when ``stop`` was set (at once, never after the whole pause)."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
    return stop.is_set()
