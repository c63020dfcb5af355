"""``evaluate``: one contract-month in, one report out (SEMANTICS §11).

The CLI, ``POST /v1/evaluations`` and (later) the credits API, metrics and
tickets all call this, so they can never disagree."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from fractions import Fraction

from app.calendars import WorkdaySchedule
from app.calendars.periods import Period
from app.contracts.errors import CaseError
from app.contracts.models import Case
from app.contracts.params import ParamError
from app.contracts.templates import Template
from app.contracts.types import parse_month
from app.evaluation import caps, credits
from app.evaluation.incidents import occurrences
from app.evaluation.maintenance import MAINTENANCE, maintenance_rows
from app.evaluation.outage import (
    affected_days,
    clip,
    continuous_outage_since,
    provider_outage,
    total,
)
from app.evaluation.report import Credit, CreditLine, Outage, Report, TerminationRight, WindowRow
from app.evaluation.terms import Terms, bind
from app.evaluation.windows import window_rows
from app.money import ZERO, round_half_up
from app.money import total as money_total

_US = timedelta(microseconds=1)


def evaluate(case: Case, template: Template, schedule: WorkdaySchedule) -> dict:
    """The report for ``case`` as JSON (``report(...).to_json()``); raises ``CaseError``
    naming the field, never a partial report."""
    return report(case, template, schedule).to_json()


def report(case: Case, template: Template, schedule: WorkdaySchedule) -> Report:
    """The typed report for ``case``; raises ``CaseError`` naming the field, never a partial report."""
    contract = case.contract
    if contract.template != template.id:
        raise CaseError("/contract/template", f"case is for {contract.template!r}, not {template.id!r}")
    try:
        terms = bind(template, contract.timezone, contract.params, schedule)
    except ParamError as exc:
        raise CaseError(f"/contract/params/{exc.name}", exc.message) from None
    tz = terms.tz
    at = case.at
    period = Period.of(*parse_month(case.period), tz)
    p0, p1 = period.start, period.end

    maintenance_max = terms.params.get("maintenance_max")
    occs = occurrences(case.incidents, maintenance_max, at, case.maintenance)
    rows = window_rows(occs, terms.windows, p0, p1, at)

    min_day = terms.params.get("min_outage_per_day") or timedelta(0)

    def money(counted):
        """Outage, affected days, credit and termination from the ``counted`` occurrences."""
        union, own = provider_outage(counted, at)
        in_period = clip(union, p0, p1)
        outage = total(in_period)
        days = affected_days(in_period, tz, min_day)
        x = credits.Inputs(contract, tz, period, len(days), at)
        lines = _credit_lines(terms, x, outage)
        # the starts of the provider incidents that add to this period's credit (a cap may count from them)
        contributing = [o.started for o in counted if any(s < p1 and e > p0 for s, e in own.get(o.index, ()))]
        return outage, days, _capped(terms, x, lines, contributing), _termination(terms, union, p0, p1, at)

    outage, days, credit, termination = money(occs)
    # SEMANTICS §1: "unknown" counts as provider until classified, and is provisional.
    # What rests on it is shown apart: owed (confirmed) and owed_provisional.
    if any(o.attribution == "unknown" and o.counts for o in occs):
        _, _, confirmed, confirmed_right = money([o for o in occs if o.attribution != "unknown"])
    else:
        confirmed, confirmed_right = credit, termination
    availability = (1 - Fraction(outage // _US, period.length // _US)) * 100
    maintenance = ()
    if case.maintenance:  # the outage as if there were none: how much each window took out
        raw = provider_outage(occurrences(case.incidents, maintenance_max, at), at)[0]
        maintenance = maintenance_rows(case.maintenance, maintenance_max, _maintenance_clause(terms),
                                       (raw, provider_outage(occs, at)[0]), p0, p1)
    return Report(
        contract_id=contract.id, template=template.id, period=case.period, timezone=contract.timezone, tz=tz,
        at=at, windows=tuple(rows),
        outage=Outage(outage, tuple(days), round_half_up(availability, 4)),
        credit=replace(credit, owed=confirmed.amount, owed_provisional=credit.amount - confirmed.amount),
        termination_right=replace(termination, provisional=termination.granted and not confirmed_right.granted),
        maintenance=maintenance,
    )


def _maintenance_clause(terms: Terms) -> dict:
    """The template's exclusion for announced maintenance (its clause and words)."""
    for x in terms.template.excluded_attributions:
        if x.attribution == MAINTENANCE:
            return {"clause": x.clause, "original": x.original, "basis": x.basis}
    return {"clause": None, "original": None, "basis": "policy"}


def _credit_lines(terms: Terms, x: credits.Inputs, outage: timedelta) -> list[CreditLine]:
    lines = [line for rule in terms.template.credits for line in credits.CREDIT_RULES[rule.rule](rule, x)]
    if x.contract.credit_policy is not None:
        lines.append(credits.policy_line(x.contract.credit_policy, x.contract, outage, x.period.length))
    return lines


def _capped(terms: Terms, x: credits.Inputs, lines: list[CreditLine], contributing: list[datetime]) -> Credit:
    """The credit before owed/provisional are split (``report`` does that)."""
    uncapped = money_total([line.amount for line in lines])
    rule = terms.template.cap
    if rule is None:
        return Credit(tuple(lines), uncapped, None, None, None, None, uncapped, uncapped, ZERO)
    cap, event = caps.CAP_RULES[rule.rule](x, contributing)
    amount = min(uncapped, cap)
    return Credit(tuple(lines), uncapped, cap, rule.rule, rule.clause, event, amount, amount, ZERO)


def _termination(terms: Terms, union, p0, p1, at) -> TerminationRight:
    rule = terms.template.termination
    if rule is None:
        return TerminationRight(False, None, None, None, None, False, ruled=False)
    since = continuous_outage_since(union, p0, p1, at, rule.min_duration)
    return TerminationRight(since is not None, since, rule.clause, rule.original, rule.basis, False, ruled=True)


def live_rows(case: Case, template: Template, schedule: WorkdaySchedule) -> list[WindowRow]:
    """Every window of every incident in the case at ``case.at``, whatever its
    period: the NOC's live clocks."""
    from app.calendars.base import FAR_FUTURE

    terms = bind(template, case.contract.timezone, case.contract.params, schedule)
    occs = occurrences(case.incidents, terms.params.get("maintenance_max"), case.at, case.maintenance)
    past = min((o.reported for o in occs), default=case.at)
    return window_rows(occs, terms.windows, past, FAR_FUTURE, case.at)
