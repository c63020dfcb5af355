"""The tables. Incidents keep their history as immutable events (healthchecks'
Flip rows): an incident's state, windows and outage are derived from them."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)



class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ContractRow(SQLModel, table=True):
    """A contract instance; ``body`` is the validated case contract (SEMANTICS §11)."""

    __tablename__ = "contracts"
    id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(foreign_key="customers.id", index=True, max_length=64)
    template: str = Field(max_length=64)
    body: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # bumped on every change: with created_at, tells a cached parse of ``body`` is current
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class TargetRow(SQLModel, table=True):
    __tablename__ = "targets"
    id: str = Field(primary_key=True, max_length=64)
    contract_id: str = Field(foreign_key="contracts.id", index=True, max_length=64)
    protocol: str = Field(max_length=32)
    config: dict = Field(sa_column=Column(JSON, nullable=False))
    category: str = Field(max_length=32)
    interval: float = 60.0
    timeout: float = 10.0
    locations: list = Field(default_factory=lambda: ["default"], sa_column=Column(JSON, nullable=False))
    failures_to_open: int = 3
    successes_to_close: int = 2
    quorum: int | None = None
    enabled: bool = True
    # scale-out: the worker probing this target, until when (PostgreSQL leases)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ProbeResultRow(SQLModel, table=True):
    __tablename__ = "probe_results"
    __table_args__ = (Index("ix_probe_results_target_started", "target_id", "started_at"),
                      Index("ix_probe_results_started", "started_at"))  # retention: the oldest first
    id: int | None = Field(default=None, primary_key=True)
    target_id: str = Field(max_length=64)
    location: str = Field(default="default", max_length=64)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ok: bool
    error: str | None = Field(default=None, max_length=200)
    duration_seconds: float = 0.0
    phases: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    rejected: bool = False
    skipped: bool = False


class ProbeRollupRow(SQLModel, table=True):
    """Results older than the retention, one row per target, location and minute:
    what stays of them once the raw rows are deleted (app.storage.retention)."""

    __tablename__ = "probe_rollups"
    target_id: str = Field(primary_key=True, max_length=64)
    location: str = Field(primary_key=True, max_length=64)
    minute: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    probes: int = 0
    failures: int = 0
    skipped: int = 0
    duration_sum: float = 0.0
    duration_max: float = 0.0


class IncidentRow(SQLModel, table=True):
    """What an incident is; what happened to it is in ``incident_events``."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_target_started", "target_id", "started_at"),)
    id: str = Field(primary_key=True, max_length=128)
    contract_id: str = Field(foreign_key="contracts.id", index=True, max_length=64)
    target_id: str | None = Field(default=None, max_length=64)
    category: str = Field(max_length=32)
    source: str = Field(default="manual", max_length=16)  # probe | manual | claim (a customer's report)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class IncidentEvent(SQLModel, table=True):
    """Append-only: one row per thing that happened (opened, acknowledged, …)."""

    __tablename__ = "incident_events"
    __table_args__ = (UniqueConstraint("incident_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incidents.id", index=True, max_length=128)
    seq: int
    kind: str = Field(max_length=16)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=100)
    note: str = Field(default="", max_length=2000)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ApiToken(SQLModel, table=True):
    """Only the SHA-256 of a token is kept; the token is shown once."""

    __tablename__ = "api_tokens"
    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(unique=True, max_length=64)
    role: str = Field(max_length=16)  # admin | noc | customer | scrape
    customer_id: str | None = Field(default=None, foreign_key="customers.id", max_length=64)
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    revoked: bool = False
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class PortalTokenRow(SQLModel, table=True):
    """The portal's secrets, stored as SHA-256 only: a one-time sign-in ``link``
    (used once), a browser ``session`` (with its CSRF token), a private ``feed``
    URL of a customer (Atom, iCalendar), a read-only ``view`` of one contract (the
    link in a ticket)."""

    __tablename__ = "portal_tokens"
    token_hash: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # link | session | feed | view | ack
    role: str = Field(max_length=16)  # customer | noc | admin
    customer_id: str | None = Field(default=None, foreign_key="customers.id", max_length=64)
    contract_id: str | None = Field(default=None, max_length=64)  # a view's contract
    incident_id: str | None = Field(default=None, max_length=200)  # an ack link's incident
    person_id: str | None = Field(default=None, max_length=64)  # the rota's person an ack link was sent to
    csrf: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class WorkerRow(SQLModel, table=True):
    """Scale-out workers announce themselves, so each can take its fair share."""

    __tablename__ = "workers"
    name: str = Field(primary_key=True, max_length=64)
    seen_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class InvoiceRow(SQLModel, table=True):
    """Billing data for the contract ledger (SEMANTICS §13)."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("contract_id", "invoice_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(foreign_key="contracts.id", index=True, max_length=64)
    invoice_id: str = Field(max_length=64)
    body: dict = Field(sa_column=Column(JSON, nullable=False))


class StorageSampleRow(SQLModel, table=True):
    __tablename__ = "storage_samples"
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(foreign_key="contracts.id", index=True, max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_mb: str = Field(max_length=32)  # a decimal, exactly as given


class NoticeRow(SQLModel, table=True):
    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("contract_id", "notice_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(foreign_key="contracts.id", index=True, max_length=64)
    notice_id: str = Field(max_length=64)
    body: dict = Field(sa_column=Column(JSON, nullable=False))


class TicketRow(SQLModel, table=True):
    """The ticket outbox: one row per event (its id is the event's key, so an
    event can never file twice); senders mark it sent."""

    __tablename__ = "tickets"
    id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=32)
    # None: the operator's own ticket (alerts naming no known contract), sent to the global sinks
    contract_id: str | None = Field(default=None, foreign_key="contracts.id", index=True, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)
    incident_id: str | None = Field(default=None, max_length=128)
    window: str | None = Field(default=None, max_length=64)
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16, index=True)  # pending | sent | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class MaintenanceWindowRow(SQLModel, table=True):
    """Planned maintenance as announced (issue 19): one contract's, one target's
    (``contract_id`` is the target's contract) or every contract of a customer;
    one-off or recurring (``rrule``, RFC 5545, from ``starts_at``). ``source`` says
    where it came from: the API, ``sla_rules/maintenance/*.yaml`` or an .ics import."""

    __tablename__ = "maintenance_windows"
    id: str = Field(primary_key=True, max_length=64)
    contract_id: str | None = Field(default=None, index=True, max_length=64)
    target_id: str | None = Field(default=None, max_length=64)
    customer_id: str | None = Field(default=None, index=True, max_length=64)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    rrule: str | None = Field(default=None, max_length=500)
    announced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    channel: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    source: str = Field(default="api", max_length=16)  # api | yaml | ics
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="", max_length=100)


class UnroutedAlertRow(SQLModel, table=True):
    """An alert that named no known contract (issue 19): kept and listed, so the
    operator can map it (``sla_rules/intake.yaml``) or create the contract."""

    __tablename__ = "unrouted_alerts"
    id: str = Field(primary_key=True, max_length=100)  # source-fingerprint
    source: str = Field(max_length=16)  # alertmanager | grafana | kuma
    fingerprint: str = Field(max_length=64)
    contract_label: str | None = Field(default=None, max_length=200)  # what it named, if anything
    alertname: str | None = Field(default=None, max_length=200)
    labels: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=16)  # firing | resolved
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    first_seen: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    times: int = 1
