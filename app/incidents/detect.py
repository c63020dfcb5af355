"""Incidents from probe results (SEMANTICS §4), as a pure function.

Results are grouped into rounds (one slot of the target's interval); a round
fails when at least ``quorum`` of its locations failed (default: a majority of
the results in it). ``failures_to_open`` failed rounds in a row open an
incident — ``started_at`` the first of them, ``reported_at`` the last;
``successes_to_close`` good rounds in a row resolve it at the first of them.
Deterministic: the same results always give the same incidents."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class ResultLike(Protocol):
    started_at: datetime
    ok: bool
    rejected: bool
    skipped: bool


@dataclass(frozen=True)
class Round:
    at: datetime
    failed: bool


@dataclass(frozen=True)
class Span:
    started_at: datetime
    reported_at: datetime
    resolved_at: datetime | None


def rounds(results: list[ResultLike], interval: float, quorum: int | None = None) -> list[Round]:
    buckets: dict[int, list[ResultLike]] = {}
    for r in results:
        if r.skipped:  # an SMS outside its send window: neither up nor down
            continue
        buckets.setdefault(int(r.started_at.timestamp() // interval), []).append(r)
    out = []
    for key in sorted(buckets):
        rs = buckets[key]
        # a content rejection is the customer's (inolink-sms 二.9), not a failure
        failed = sum(1 for r in rs if not r.ok and not r.rejected)
        need = quorum if quorum is not None else len(rs) // 2 + 1
        out.append(Round(min(r.started_at for r in rs), failed >= need))
    return out


def detect(rs: list[Round], failures_to_open: int = 3, successes_to_close: int = 2,
           opened: tuple[datetime, datetime] | None = None) -> list[Span]:
    """Incidents in ``rs``; ``opened`` = (started_at, reported_at) of an incident
    already open before the first round, so detection can resume from a recent
    round instead of re-reading the target's whole history."""
    spans: list[Span] = []
    fails: list[Round] = []
    goods: list[Round] = []
    for r in rs:
        if opened is None:
            fails = fails + [r] if r.failed else []
            if len(fails) >= failures_to_open:
                opened, fails = (fails[0].at, fails[-1].at), []
        else:
            goods = goods + [r] if not r.failed else []
            if len(goods) >= successes_to_close:
                spans.append(Span(opened[0], opened[1], goods[0].at))
                opened, goods = None, []
    if opened is not None:
        spans.append(Span(opened[0], opened[1], None))
    return spans


def lookback(earliest: datetime, interval: float, failures_to_open: int, successes_to_close: int) -> datetime:
    """Where detection must resume for results written from ``earliest`` on: far
    enough back to see a run of failed (or good) rounds that began before them
    and has not yet opened (or closed) an incident, aligned to a round's start so
    no round is cut in two."""
    rounds_back = max(failures_to_open, successes_to_close) + 1
    ts = earliest.timestamp() - rounds_back * interval
    return datetime.fromtimestamp(ts // interval * interval, earliest.tzinfo)
