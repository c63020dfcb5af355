"""Which events file a ticket (pure): a window breached; a running window at 80 %
of its limit (configurable); a ``major`` incident open (ningbo-colo 六.3: consult
the customer at once); a termination right granted. Each event's key is stable,
so it files exactly one ticket however often it is seen."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TicketEvent:
    key: str
    kind: str
    incident_id: str | None = None
    window: str | None = None
    payload: dict = field(default_factory=dict, hash=False, compare=False)


def window_events(windows: list[dict], warn_ratio: float | None) -> list[TicketEvent]:
    out = []
    for w in windows:
        base = {k: w.get(k) for k in ("clause", "original", "basis", "deadline", "elapsed_seconds", "overdue_seconds",
                                      "limit", "status", "provisional")}
        if w["status"] == "breached":
            out.append(TicketEvent(f"breach:{w['incident_id']}:{w['window']}", "window_breached", w["incident_id"],
                                   w["window"], base))
        elif (w["status"] == "running" and warn_ratio is not None and w["limit_seconds"]
              and w["elapsed_seconds"] >= warn_ratio * w["limit_seconds"]):
            out.append(TicketEvent(f"warn{int(warn_ratio * 100)}:{w['incident_id']}:{w['window']}", "window_warning",
                                   w["incident_id"], w["window"], base))
    return out


def major_events(incidents: list[dict]) -> list[TicketEvent]:
    return [TicketEvent(f"major:{i['id']}", "major_incident", i["id"], None,
                        {"category": i["category"], "started_at": i["started_at"], "clause": "六.3",
                         "original": "如遇特大故障，乙方应征求甲方意见并与甲方商讨解决办法"})
            for i in incidents if i["severity"] == "major" and i["status"] != "resolved"]


def termination_events(contract_id: str, right: dict) -> list[TicketEvent]:
    if not right.get("granted"):
        return []
    return [TicketEvent(f"termination:{contract_id}:{right['since']}", "termination_right", None, None,
                        {"since": right["since"], "clause": right.get("clause"), "original": right.get("original")})]


# Deadlines on which the provider must act (SEMANTICS §13): remind, export, hold the server.
PROVIDER_DEADLINES = frozenset({"renewal_reminder", "data_export_until", "pickup_deadline"})
LEDGER_NOTICE = 24 * 3600


def ledger_events(contract_id: str, deadlines: list[dict], now_ts: float) -> list[TicketEvent]:
    """A provider-action deadline within 24 h files one ticket (once per deadline)."""
    out = []
    for d in deadlines:
        if d["name"] in PROVIDER_DEADLINES and not d["passed"]:
            due = datetime.fromisoformat(d["due_at"]).timestamp()
            if due - now_ts <= LEDGER_NOTICE:
                out.append(TicketEvent(f"ledger:{contract_id}:{d['name']}:{d['due_at']}", "ledger_deadline", None,
                                       None, {"deadline_name": d["name"], "deadline": d["due_at"],
                                              "clause": d["clause"], "basis": d["basis"]}))
    return out


def evaluation_error_events(contract_id: str, reason: str, message: str) -> list[TicketEvent]:
    """A contract that cannot be evaluated files one ticket to the operator per
    reason (a missing year's calendar is one reason, the next year another)."""
    return [TicketEvent(f"evaluation_error:{contract_id}:{reason}", "evaluation_error", None, None,
                        {"reason": reason, "error": message})]


def escalation_events(windows: list[dict], incidents: list[dict], escalation, now_ts: float) -> list[TicketEvent]:
    """Paging by deadline: each step of ``escalation`` files once per window when its
    share of the limit is used (or the window breaches), while the incident is open
    and nobody has acknowledged it; then a "still open" reminder every
    ``repeat_minutes``. Who is paged is resolved when the ticket is filed (the rota)."""
    if escalation is None:
        return []
    # an incident wholly inside announced maintenance pages nobody (its windows are excluded)
    maintained = {w["incident_id"] for w in windows if w.get("attribution") == "announced_maintenance"}
    waiting = {i["id"]: i for i in incidents
               if i["status"] != "resolved" and not i.get("acknowledged") and i["id"] not in maintained}
    out = []
    for w in windows:
        if w["incident_id"] not in waiting or w["status"] not in ("running", "breached") or not w["limit_seconds"]:
            continue
        used = w["elapsed_seconds"] / w["limit_seconds"]
        base = {k: w.get(k) for k in ("clause", "original", "basis", "deadline", "elapsed_seconds", "overdue_seconds",
                                      "limit", "status")}
        for step in escalation.steps:
            reached = w["status"] == "breached" or (step.share is not None and used >= step.share)
            if reached:
                out.append(TicketEvent(f"escalate{step.at}:{w['incident_id']}:{w['window']}", "escalation",
                                       w["incident_id"], w["window"], {**base, "step": step.at, "to": step.to,
                                                                       "sms": step.sms}))
    if escalation.repeat_minutes:
        for iid, i in waiting.items():
            n = int((now_ts - datetime.fromisoformat(i["started_at"]).timestamp()) // (escalation.repeat_minutes * 60))
            if n >= 1:
                out.append(TicketEvent(f"still_open:{iid}:{n}", "still_open", iid, None,
                                       {"started_at": i["started_at"], "to": "on_duty", "sms": False,
                                        "open_minutes": n * escalation.repeat_minutes}))
    return out
