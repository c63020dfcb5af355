"""A contract template (``sla_rules/templates/<id>.yaml``): what a contract kind
promises, every rule citing its clause and the original words."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from app.calendars.durations import Limit, parse_limit, parse_span
from app.calendars.workdays import WEEKDAYS, hours_length, parse_hours
from app.contracts.models import Escalation
from app.contracts.params import param_value
from app.contracts.types import (
    Attribution,
    Basis,
    Category,
    Money,
    Percent,
    Strict,
    TimeZoneName,
)


def _custom(fn, kind: str):
    def wrapped(value: Any):
        if isinstance(value, (Limit, timedelta)):
            return value
        try:
            return fn(value)
        except ValueError as exc:
            raise PydanticCustomError(kind, str(exc)) from None
    return wrapped


LimitField = Annotated[Limit, BeforeValidator(_custom(parse_limit, "duration"))]
SpanField = Annotated[timedelta, BeforeValidator(_custom(parse_span, "duration"))]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Cited(Strict):
    """A rule's source: the clause, its original words and whether the number is
    the contract's own or an operator/default policy."""

    clause: str | None = None
    original: str | None = None
    basis: Basis = "contract"

    @model_validator(mode="after")
    def _cited(self):
        if self.basis == "contract" and not self.clause:
            raise PydanticCustomError("clause", "a rule with basis contract must cite its clause", {"field": "clause"})
        return self


class Parameter(Cited):
    type: Literal["duration", "hours", "money", "integer"]
    default: Any = None
    nullable: bool = False
    description: str = ""


class CalendarDef(Cited):
    weekly: dict[Literal[WEEKDAYS], str]  # type: ignore[valid-type]
    workdays_only: bool = False  # also a PRC working day (inolink-sms 一.5(4))

    def hours(self):
        return {WEEKDAYS.index(d): parse_hours(h) for d, h in self.weekly.items()}


class WindowRule(Cited):
    name: Name
    applies_to: list[Category] = Field(min_length=1)
    clock_stop: Literal["acknowledged_at", "resolved_at", "notified_at"]
    limit: LimitField | None = None
    limit_param: str | None = None  # the limit is this parameter (contract may override)
    calendar: str = "always"
    pause_on: list[str] = ["waiting_on_customer"]
    description: str = ""


class Exclusion(Cited):
    attribution: Attribution


class CreditRule(Cited):
    rule: Literal["per_affected_day", "termination_refund"]
    min_outage_param: str | None = None  # per_affected_day: a day counts above this
    free_days: dict[Literal["annual", "monthly"], int] | None = None  # termination_refund
    description: str = ""


class CapRule(Cited):
    rule: Literal["month_fee", "total_paid", "trailing_12m_paid"]


class TerminationRule(Cited):
    rule: Literal["continuous_outage"]
    min_duration: SpanField


LEDGER_FIELDS = {
    # rule → the fields it needs (SEMANTICS §13); checked when a template loads
    "late_fee": ("percent",),
    "interest": ("percent", "per_days"),
    "termination_notice": ("months",),
    "unconditional_refund": ("days", "series"),
    "renewal_reminder": ("days",),
    "renewal_due": ("days",),
    "lapse": (),
    "service_stop": ("days",),
    "pickup": ("days",),
    "arrears": ("days", "delete_days", "fee"),
    "data_after_termination": ("days", "export_days"),
    "overage": ("mb_per_user", "unit_mb", "fee"),
    "deemed_delivery": ("email_hours", "mail_hours"),
}


class LedgerRule(Cited):
    """A billing term: a charge, a deadline or a status change, citing its clause."""

    rule: Literal[tuple(LEDGER_FIELDS)]  # type: ignore[valid-type]
    percent: Percent | None = None
    per_days: int | None = Field(None, gt=0)
    days: int | None = Field(None, ge=0)
    delete_days: int | None = Field(None, ge=0)
    export_days: int | None = Field(None, ge=0)
    months: int | None = Field(None, ge=0)
    fee: Money | None = None
    series: list[str] | None = None
    mb_per_user: int | None = Field(None, gt=0)
    unit_mb: int | None = Field(None, gt=0)
    email_hours: int | None = Field(None, ge=0)
    mail_hours: int | None = Field(None, ge=0)
    description: str = ""


class Template(Strict):
    id: str
    title: str
    seed: str
    service: str = ""
    provider: str = ""
    timezone: TimeZoneName = "Asia/Shanghai"
    parameters: dict[str, Parameter] = {}
    calendars: dict[str, CalendarDef] = {}
    windows: list[WindowRule] = []
    excluded_attributions: list[Exclusion] = []
    credits: list[CreditRule] = []
    cap: CapRule | None = None
    termination: TerminationRule | None = None
    ledger: list[LedgerRule] = []
    escalation: Escalation | None = None  # paging by deadline for every contract of it (a contract's own wins)
    notes: list[str] = []


BUILTIN_CALENDARS = ("always", "cn_workdays")


Problem = tuple[tuple, str] | None  # the first problem as (loc, message)


def check_template(t: Template, expected_id: str | None = None) -> Problem:
    """Cross-field checks pydantic cannot do alone; the first problem as (loc, message)."""
    if expected_id is not None and t.id != expected_id:
        return ("id",), f"id {t.id!r} does not match the file name {expected_id!r}"
    for check in (_parameters, _calendars, _windows, _credits, _ledger):
        problem = check(t)
        if problem is not None:
            return problem
    if "cn_workdays" in {w.calendar for w in t.windows} and "workday_hours" not in t.parameters:
        return ("parameters",), "windows on cn_workdays need a workday_hours parameter"
    return None


def _parameters(t: Template) -> Problem:
    for name, p in t.parameters.items():
        try:
            param_value(p, p.default)
        except ValueError as exc:
            return ("parameters", name, "default"), str(exc)
    return None


def _calendars(t: Template) -> Problem:
    for name, c in t.calendars.items():
        if name in BUILTIN_CALENDARS:
            return ("calendars", name), f"{name} is a built-in calendar"
        for day, hours in c.weekly.items():
            try:
                parse_hours(hours)
            except ValueError as exc:
                return ("calendars", name, "weekly", day), str(exc)
    return None


def _windows(t: Template) -> Problem:
    seen: set[str] = set()
    for i, w in enumerate(t.windows):
        if w.name in seen:
            return ("windows", i, "name"), f"window {w.name!r} is defined twice"
        seen.add(w.name)
        problem = _window(t, w)
        if problem is not None:
            return ("windows", i, problem[0]), problem[1]
    return None


def _window(t: Template, w) -> tuple[str, str] | None:
    if (w.limit is None) == (w.limit_param is None):
        return "limit", "give exactly one of limit or limit_param"
    if w.limit_param is not None:
        p = t.parameters.get(w.limit_param)
        if p is None or p.type != "duration":
            return "limit_param", f"{w.limit_param!r} is not a duration parameter of this template"
    calendars = set(BUILTIN_CALENDARS) | set(t.calendars)
    if w.calendar not in calendars:
        return "calendar", f"unknown calendar {w.calendar!r} (known: {', '.join(sorted(calendars))})"
    if w.limit is not None and w.limit.workdays and w.calendar in t.calendars:
        lengths = {hours_length(parse_hours(h)) for h in t.calendars[w.calendar].weekly.values()}
        if len(lengths) != 1:
            return "limit", "working-day limits need a calendar with the same hours every day"
    return None


def _credits(t: Template) -> Problem:
    for i, c in enumerate(t.credits):
        if c.rule == "termination_refund" and not c.free_days:
            return ("credits", i, "free_days"), "termination_refund needs free_days for annual and monthly"
        if c.min_outage_param is not None and t.parameters.get(c.min_outage_param, None) is None:
            return ("credits", i, "min_outage_param"), f"{c.min_outage_param!r} is not a parameter of this template"
    return None


def _ledger(t: Template) -> Problem:
    seen: set[str] = set()
    for i, rule in enumerate(t.ledger):
        if rule.rule in seen:
            return ("ledger", i, "rule"), f"ledger rule {rule.rule!r} is given twice"
        seen.add(rule.rule)
        for name in LEDGER_FIELDS[rule.rule]:
            if getattr(rule, name) is None:
                return ("ledger", i), f"{rule.rule} needs {name}"
    return None
