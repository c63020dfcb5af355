"""Showing instants in a contract's zone, fast: a zone whose UTC offset has not
changed in decades (Asia/Shanghai has kept +08:00 since 1991) is shown with a
fixed offset, which converts and formats at a fraction of the cost; instants
outside the checked range, and zones with DST, go through ``ZoneInfo``."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

# the State Council's schedule (cn_workdays) is read in Beijing time, whatever a contract's zone
PRC = ZoneInfo("Asia/Shanghai")

CHECKED_FROM = datetime(1992, 1, 1, tzinfo=timezone.utc)
CHECKED_UNTIL = datetime(2100, 1, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=256)
def fixed_offset(tz: tzinfo) -> timezone | None:
    """The zone's one offset over 1992–2099 (checked every two weeks), or None."""
    offsets = set()
    t = CHECKED_FROM
    while t < CHECKED_UNTIL and len(offsets) < 2:
        offsets.add(t.astimezone(tz).utcoffset())
        t += timedelta(days=14)
    return timezone(offsets.pop()) if len(offsets) == 1 else None


class LocalTime:
    """ISO 8601 in the contract's zone; an instant shown twice is converted once."""

    __slots__ = ("tz", "fixed", "cache")

    def __init__(self, tz: tzinfo):
        self.tz, self.fixed, self.cache = tz, fixed_offset(tz), {}

    def __call__(self, instant: datetime | None) -> str | None:
        if instant is None:
            return None
        text = self.cache.get(instant)
        if text is None:
            fixed = self.fixed
            zone = fixed if fixed is not None and CHECKED_FROM <= instant < CHECKED_UNTIL else self.tz
            text = self.cache[instant] = instant.astimezone(zone).isoformat()
        return text
