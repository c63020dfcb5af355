"""Response models: what every route answers, in the OpenAPI document (so
schemathesis checks each body against it) and, where a route returns a plain
dict, checked by FastAPI on the way out. The engine's reports are described
here as they are written (``app.evaluation.engine``): instants as ISO 8601 with
the contract's offset, money as decimal strings with two places."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Money = str  # "123.45": a decimal string, never a float
Instant = str  # ISO 8601 with its offset


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A record whose keys follow a contract or a rule (the rule's own extras)."""
    model_config = ConfigDict(extra="allow")


class WindowRow(Out):
    incident_id: str
    window: str
    clause: str | None
    original: str | None
    basis: str
    limit: str
    calendar: str
    clock_start: Instant
    deadline: Instant | None
    stopped_at: Instant | None
    status: Literal["running", "met", "breached", "excluded"]
    limit_seconds: int | float
    elapsed_seconds: int | float
    overdue_seconds: int | float
    provisional: bool
    attribution: str


class Outage(Out):
    seconds: int | float
    affected_days: list[str]
    availability_percent: str


class CreditLine(Open):
    rule: str
    amount: Money
    clause: str | None
    basis: str


class Credit(Out):
    lines: list[CreditLine]
    uncapped: Money
    cap: Money | None
    cap_rule: str | None
    cap_clause: str | None
    cap_event_at: Instant | None = None
    amount: Money
    currency: str
    owed: Money
    owed_provisional: Money


class TerminationRight(Out):
    granted: bool
    since: Instant | None
    clause: str | None
    original: str | None = None
    basis: str | None
    provisional: bool


class PlannedMaintenance(Out):
    """A planned-maintenance window of the period: whether it excluded, and why not."""
    id: str
    start: Instant
    end: Instant
    announced_at: Instant | None
    channel: str | None
    note: str | None
    target: str | None
    excluded: bool
    why_counted: str | None
    clause: str | None
    original: str | None
    basis: str
    outage_excluded_seconds: int | float


class Report(Out):
    """One contract-month (SEMANTICS §11)."""
    contract_id: str
    template: str
    period: str
    timezone: str
    at: Instant
    windows: list[WindowRow]
    outage: Outage
    credit: Credit
    termination_right: TerminationRight
    maintenance: list[PlannedMaintenance] = []


class EvaluationError(Out):
    contract_id: str
    reason: str
    detail: str


class CustomerCredits(Out):
    customer_id: str
    period: str | None
    amount: Money
    owed: Money
    owed_provisional: Money
    currency: str
    contracts: list[Report]
    evaluation_errors: list[EvaluationError]


class LedgerReport(Out):
    """What a contract's billing terms say at an instant (SEMANTICS §13)."""
    contract_id: str
    template: str
    at: Instant
    charges: list[Open]
    charges_total: Money
    currency: str
    deadlines: list[Open]
    notices: list[Open]
    status: Open


class Contract(Open):
    """A stored contract as given (``app.contracts.models.Contract``), secrets shown as ``***set***``."""
    id: str
    template: str


class Contracts(Out):
    items: list[Contract]
    total: int


class Notification(Out):
    ticket_id: str
    kind: str
    contract_id: str | None  # None: the operator's own (an alert for no known contract)
    incident_id: str | None
    channel: str
    delivered: bool
    answer: str
    state: str
    created_at: Instant
    sent_at: Instant | None


class Notifications(Out):
    items: list[Notification]
    total: int


class Target(Out):
    id: str
    contract_id: str
    protocol: str
    config: dict[str, Any]
    category: str
    interval: float
    timeout: float
    locations: list[str]
    failures_to_open: int
    successes_to_close: int
    quorum: int | None
    enabled: bool
    lease_owner: str | None
    lease_until: Any


class Targets(Out):
    items: list[Target]
    total: int


class TimelineEvent(Out):
    seq: int
    kind: str
    at: Instant
    actor: str
    note: str
    data: dict[str, Any]


class Incident(Out):
    id: str
    contract_id: str
    target_id: str | None
    category: str
    source: str
    status: str
    attribution: str
    severity: str | None
    provisional: bool
    started_at: Instant | None
    reported_at: Instant | None
    acknowledged_at: Instant | None
    notified_at: Instant | None
    resolved_at: Instant | None


class IncidentDetail(Incident):
    windows: list[WindowRow]
    evaluation_error: dict[str, str] | None
    timeline: list[TimelineEvent]


class Incidents(Out):
    items: list[Incident]
    total: int


class LiveWindow(WindowRow):
    contract_id: str
    time_left_seconds: float | None


class Windows(Out):
    items: list[LiveWindow]
    total: int
    at: Instant
    evaluation_errors: list[EvaluationError]


class Ticket(Out):
    id: str
    kind: str
    contract_id: str | None  # None: the operator's own (an alert for no known contract)
    customer_id: str | None
    incident_id: str | None
    window: str | None
    payload: dict[str, Any]
    state: str
    attempts: int
    last_error: str | None
    created_at: Instant
    sent_at: Instant | None


class Tickets(Out):
    items: list[Ticket]
    total: int


class Billing(Out):
    invoices: list[Open]
    storage: list[Open]
    notices: list[Open]


class Delivery(Out):
    matched: bool
    relayed: bool


class Health(Out):
    status: Literal["ok"]


class Ready(Out):
    status: str
    migration: str | None = None
    current: str | None = None
    head: str | None = None
    reason: str | None = None


class Template(Open):
    """A template described: every rule with its clause (``app.reports.rules.describe``)."""
    id: str
    title: str
