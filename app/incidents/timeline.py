"""An incident's timeline: immutable events, the transitions allowed between
them (listed here, in one place), and the state folded from them — which is what
the rules engine evaluates (SEMANTICS §4)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OPEN, PAUSED, RESOLVED, VOIDED = "open", "paused", "resolved", "voided"

# kind → (states it may follow, the state after it); None: keeps the state
TRANSITIONS: dict[str, tuple[frozenset, str | None]] = {
    "opened": (frozenset({None}), OPEN),
    "acknowledged": (frozenset({OPEN, PAUSED}), None),
    "notified": (frozenset({OPEN, PAUSED, RESOLVED}), None),
    "paused": (frozenset({OPEN}), PAUSED),
    "resumed": (frozenset({PAUSED}), OPEN),
    "classified": (frozenset({OPEN, PAUSED, RESOLVED}), None),
    "resolved": (frozenset({OPEN, PAUSED}), RESOLVED),
    "reopened": (frozenset({RESOLVED}), OPEN),
    # an incident recorded by mistake (a wrong date, a test): kept in its timeline, counted nowhere
    "voided": (frozenset({OPEN, PAUSED, RESOLVED}), VOIDED),
    # an on-duty message sent about it (DingTalk, WeCom, Feishu, SMS): a record, not a change of state
    "paged": (frozenset({OPEN, PAUSED, RESOLVED}), None),
}
RECORDS = frozenset({"classified", "paged"})  # about the incident, not a moment in it: they never set last_at
ONCE = frozenset({"acknowledged", "notified"})  # a second acknowledgement is refused
ACTIONS = ("acknowledge", "notify", "pause", "resume", "classify", "resolve", "reopen", "void")
ACTION_KIND = {"acknowledge": "acknowledged", "notify": "notified", "pause": "paused", "resume": "resumed",
               "classify": "classified", "resolve": "resolved", "reopen": "reopened", "void": "voided"}


class TransitionError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


@dataclass
class Event:
    kind: str
    at: datetime
    actor: str = ""
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class State:
    status: str | None = None
    acknowledged_at: datetime | None = None
    notified_at: datetime | None = None
    resolved_at: datetime | None = None
    attribution: str = "unknown"
    severity: str = "minor"
    announced_at: datetime | None = None
    pauses: list[dict] = field(default_factory=list)
    last_at: datetime | None = None


def check(state: State, kind: str, at: datetime, started_at: datetime) -> None:
    """Refuse an event the timeline does not allow, naming the field."""
    allowed, _ = TRANSITIONS[kind]
    if state.status not in allowed:
        raise TransitionError("action", f"cannot {kind.removesuffix('ed').removesuffix('e')} an incident that is "
                                        f"{state.status or 'not opened'}")
    if kind in ONCE and getattr(state, f"{kind}_at") is not None:
        raise TransitionError("action", f"incident was already {kind}")
    if at < started_at:
        raise TransitionError("at", f"{kind} before the incident started ({started_at.isoformat()})")
    if state.last_at is not None and at < state.last_at:
        raise TransitionError("at", f"before the previous event ({state.last_at.isoformat()})")


def apply(state: State, e: Event) -> State:
    after = TRANSITIONS[e.kind][1]
    if e.kind in ("acknowledged", "notified"):
        setattr(state, f"{e.kind}_at", e.at)
    elif e.kind == "paused":
        state.pauses.append({"start": e.at, "end": None, "reason": e.data.get("reason", "waiting_on_customer")})
    elif e.kind == "resumed" or (e.kind == "resolved" and state.status == PAUSED):
        state.pauses[-1]["end"] = e.at
    elif e.kind == "classified":
        for k in ("attribution", "severity", "announced_at"):
            if e.data.get(k) is not None:
                setattr(state, k, e.data[k])
    if e.kind == "resolved":
        state.resolved_at = e.at
    elif e.kind == "reopened":
        state.resolved_at = None  # the outage goes on
    if after is not None:
        state.status = after
    if e.kind not in RECORDS:  # a classification or a page is about the incident, not a moment in it
        state.last_at = e.at
    return state


def fold(events: list[Event]) -> State:
    state = State()
    for e in events:
        state = apply(state, e)
    return state
