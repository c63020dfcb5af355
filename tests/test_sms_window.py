"""SEMANTICS §7 / worked example 3: the SMS expected send time (inolink-sms 一.3)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.calendars.sms import expected_send_at

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("submitted, expected", [
    ("2026-10-12T22:40:00", "2026-10-13T08:05:00"),
    ("2026-10-12T06:59:00", "2026-10-12T08:05:00"),
    ("2026-10-12T07:00:00", "2026-10-12T07:00:00"),
    ("2026-10-12T22:29:59", "2026-10-12T22:29:59"),
    ("2026-10-12T22:30:00", "2026-10-13T08:05:00"),
    ("2026-10-12T00:00:00", "2026-10-12T08:05:00"),
    ("2026-12-31T23:59:00", "2027-01-01T08:05:00"),
])
def test_expected_send_at(submitted, expected):
    got = expected_send_at(datetime.fromisoformat(submitted).replace(tzinfo=SH), SH)
    assert got.astimezone(SH).replace(tzinfo=None) == datetime.fromisoformat(expected)
