"""Per-customer rate limits on what a customer token can make the server do:
claims (``POST /v1/incidents``) and statement renders. A sliding window per
(customer, action), kept in this process (each API process limits its own
share); beyond it, 429 with ``Retry-After``."""
from __future__ import annotations

import time
from collections import deque

from fastapi import HTTPException


class RateLimit:
    def __init__(self, what: str, limit: int, per_seconds: float = 3600.0):
        self.what, self.limit, self.per = what, limit, per_seconds
        self.hits: dict[str, deque[float]] = {}

    def take(self, key: str) -> None:
        """Count one for ``key``, or refuse with 429 when its window is full."""
        now = time.monotonic()
        q = self.hits.setdefault(key, deque())
        while q and now - q[0] >= self.per:
            q.popleft()
        if len(q) >= self.limit:
            wait = max(1, int(self.per - (now - q[0])) + 1)
            raise HTTPException(429, f"at most {self.limit} {self.what} per {self.per / 3600:g} h for one customer; "
                                     f"try again in {wait} s", headers={"Retry-After": str(wait)})
        q.append(now)
        if len(self.hits) > 100_000:  # bounded memory: forget idle keys
            self.hits = {k: v for k, v in self.hits.items() if v and now - v[-1] < self.per}
