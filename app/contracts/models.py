"""The evaluation case (SEMANTICS §11): a contract, its incidents, a period and
the evaluation instant. Shared by ``slawatch evaluate``, ``POST /v1/evaluations``
and contract files in ``sla_rules/contracts/``."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from app.contracts.types import (
    Attribution,
    Category,
    Ident,
    Instant,
    Label,
    Money,
    MonthRange,
    Percent,
    Period,
    Strict,
    TimeZoneName,
)


class Payment(Strict):
    paid_at: Instant
    amount: Money
    months: MonthRange


class Interval(Strict):
    """A half-open ``[start, end)``; ``end`` must be after ``start``."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _order(self):
        if self.end <= self.start:
            raise PydanticCustomError("order", "end is not after start", {"field": "end"})
        return self


class PaidPeriod(Interval):
    amount: Money


class Termination(Strict):
    at: Instant
    # policy/upstream: ningbo-colo 八.5 refund; customer/arrears: ledger only.
    reason: Literal["policy", "upstream", "customer", "arrears"]
    paid_period: PaidPeriod | None = None


class Tier(Strict):
    below: Percent
    percent: Percent


class CreditPolicy(Strict):
    """Operator policy where the contract names no credit amount (basis: policy).

    ``pro_rata_downtime``: month fee × outage ÷ month length.
    ``availability_tiers``: the largest ``percent`` whose ``below`` is above the
    month's availability, times the month fee."""

    rule: Literal["pro_rata_downtime", "availability_tiers"]
    tiers: list[Tier] | None = None

    @model_validator(mode="after")
    def _tiers(self):
        if self.rule == "availability_tiers" and not self.tiers:
            raise PydanticCustomError("tiers", "availability_tiers needs at least one tier", {"field": "tiers"})
        if self.rule == "pro_rata_downtime" and self.tiers is not None:
            raise PydanticCustomError("tiers", "pro_rata_downtime takes no tiers", {"field": "tiers"})
        return self


class Term(Interval):
    """The paid service term, half-open; ``start`` is the activation date (开通之日)."""


class EscalationStep(Strict):
    """At a share of a window's limit (``50%``) or at its ``breach``, page someone —
    only while nobody has acknowledged the incident."""

    at: str = Field(pattern=r"^([1-9][0-9]?%|100%|breach)$")
    to: Literal["on_duty", "lead", "manager"]  # the rota's on-duty people, the team's lead or duty manager
    sms: bool = False  # also an SMS page to their mobiles

    @property
    def share(self) -> float | None:
        return None if self.at == "breach" else int(self.at[:-1]) / 100


class Escalation(Strict):
    team: str | None = None  # the rota's team (default: its first)
    steps: list[EscalationStep] = Field(min_length=1, max_length=10)
    repeat_minutes: int | None = Field(None, ge=5, le=1440)  # "still open" reminders while unacknowledged


class ContractRobot(Strict):
    url: str = Field(pattern=r"^https?://")
    secret: str | None = None  # sealed at rest and never shown, as every secret


class ContractChannels(Strict):
    """This contract's own robots (its customer's group, say), besides the global and the team's."""
    dingtalk: ContractRobot | None = None
    wecom: ContractRobot | None = None
    feishu: ContractRobot | None = None


class TicketPolicy(Strict):
    """Per-contract ticket settings; unset fields fall back to the global ones."""

    warn_percent: int | None = Field(None, ge=0, le=100)  # 0: no warning tickets for this contract
    escalation: Escalation | None = None  # paging by deadline (sla_rules/oncall.yaml says who)
    channels: ContractChannels | None = None
    smtp_to: str | None = None  # this contract's support mailbox
    webhook_url: str | None = Field(None, pattern=r"^https?://")
    webhook_secret: str | None = None

    @model_validator(mode="after")
    def _secret(self):
        if self.webhook_url and not self.webhook_secret:
            raise PydanticCustomError("secret", "required with webhook_url (signs each ticket)",
                                      {"field": "webhook_secret"})
        return self


class Contract(Strict):
    id: Ident
    template: str = Field(min_length=1)
    customer: str | None = None
    title: str | None = None
    timezone: TimeZoneName = "Asia/Shanghai"
    month_fee: Money | None = None
    billing: Literal["monthly", "annual"] | None = None
    payments: list[Payment] = []
    terminated: Termination | None = None
    params: dict[str, Any] = {}
    credit_policy: CreditPolicy | None = None
    credits_paid: Money = Decimal("0")
    # billing terms (SEMANTICS §13)
    term: Term | None = None
    users: int | None = Field(None, ge=0)  # shengjing-crm user accounts
    series: str | None = None  # xiamen-mail product series, e.g. "G"
    tickets: TicketPolicy | None = None


class Pause(Strict):
    start: Instant
    end: Instant | None = None  # open: the clock is paused now
    reason: str = "waiting_on_customer"

    @model_validator(mode="after")
    def _order(self):
        if self.end is not None and self.end < self.start:
            raise PydanticCustomError("order", "end is before start", {"field": "end"})
        return self


class Incident(Strict):
    id: Label
    category: Category
    target: str | None = Field(None, max_length=64)  # the probe target it was detected on, if any
    attribution: Attribution = "unknown"
    severity: Literal["minor", "major"] = "minor"
    started_at: Instant
    reported_at: Instant | None = None
    acknowledged_at: Instant | None = None
    notified_at: Instant | None = None
    resolved_at: Instant | None = None
    announced_at: Instant | None = None
    pauses: list[Pause] = []

    @model_validator(mode="after")
    def _order(self):
        if self.reported_at is not None and self.reported_at < self.started_at:
            raise PydanticCustomError("order", "reported_at is before started_at", {"field": "reported_at"})
        if self.resolved_at is not None and self.resolved_at < self.started_at:
            raise PydanticCustomError("order", "resolved_at is before started_at", {"field": "resolved_at"})
        return self

    @property
    def clock_start(self):
        return self.reported_at or self.started_at


class Maintenance(Interval):
    """Planned maintenance, one occurrence ``[start, end)`` (a recurring window is
    expanded before it reaches a case): when and how the customer was told, and the
    target it is limited to (else the whole contract)."""

    id: Label
    announced_at: Instant | None = None
    channel: str | None = Field(None, max_length=64)  # how it was announced: portal, e-mail, 公告, …
    note: str | None = Field(None, max_length=2000)
    target: str | None = Field(None, max_length=64)


class Case(Strict):
    contract: Contract
    incidents: list[Incident] = []
    maintenance: list[Maintenance] = Field([], max_length=1000)
    period: Period
    at: Instant

    @model_validator(mode="after")
    def _unique_ids(self):
        for name, field, items in (("incident", "incidents", self.incidents),
                                   ("maintenance", "maintenance", self.maintenance)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    raise PydanticCustomError("duplicate", f"{name} id {item.id!r} appears twice",
                                              {"field": f"{field}/{i}/id"})
                seen.add(item.id)
        return self
