"""The SMS send window (SEMANTICS §7, inolink-sms 一.3): messages submitted
outside 07:00–22:30 local go out at the next 08:05. Delivery latency counts from
the expected send time, so a deferred message is not a slow one. (The probes
keep their own window check, ``probes.sms.in_window``: ``probes`` never imports
``app``.)"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.calendars.base import UTC

SEND_OPENS, SEND_CLOSES, DEFERRED_SEND = time(7, 0), time(22, 30), time(8, 5)


def expected_send_at(submitted: datetime, tz: ZoneInfo, opens: time = SEND_OPENS,
                     closes: time = SEND_CLOSES, deferred: time = DEFERRED_SEND) -> datetime:
    local = submitted.astimezone(tz)
    t = local.time()
    if opens <= t < closes:
        return submitted
    day = local.date() if t < deferred else local.date() + timedelta(days=1)
    return datetime.combine(day, deferred, tzinfo=tz).astimezone(UTC)
