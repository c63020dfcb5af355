"""Reports of months that time can no longer change — the month has ended, every
incident of the contract is resolved and no window still runs — kept encoded,
keyed by what they were computed from (the contract's version, its timeline's
length and newest event, the rules loaded): any write makes a new key, so a kept
report is never stale. Only the report's ``at`` is written afresh for each answer.
A customer asking for last month's credit is answered without evaluating it
again (basis: policy — at most ``SIZE`` months, least recently used first out)."""
from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.responses import JSONResponse, Response

from app.contracts.models import Case

SIZE = 2000
_AT = "\x00at\x00"  # where the answer's own instant goes
_AT_JSON = json.dumps(_AT).encode()


def settled(case: Case, report: dict, period_end: datetime) -> bool:
    return (case.at >= period_end and all(i.resolved_at is not None for i in case.incidents)
            and all(w["status"] != "running" for w in report["windows"]))


class SettledReports:
    def __init__(self, size: int = SIZE):
        self.size = size
        self.kept: OrderedDict[tuple, tuple[bytes, bytes, ZoneInfo]] = OrderedDict()

    def answer(self, key: tuple) -> Response | None:
        hit = self.kept.get(key)
        if hit is None:
            return None
        self.kept.move_to_end(key)
        at = datetime.now(hit[2]).isoformat()  # the answer's own instant, in the contract's zone
        return Response(hit[0] + json.dumps(at).encode() + hit[1], media_type="application/json")

    def keep(self, key: tuple, report: dict, tz: ZoneInfo) -> None:
        body = JSONResponse({**report, "at": _AT}).body
        head, _, tail = body.partition(_AT_JSON)
        self.kept[key] = (head, tail, tz)
        if len(self.kept) > self.size:
            self.kept.popitem(last=False)
