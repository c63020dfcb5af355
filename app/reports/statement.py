"""The customer's monthly statement as one HTML page — incidents with human
titles, each window with its deadline and outcome, the month bar with every
outage visible, each credit line with its clause and its arithmetic, the cap
and the amount owed — from the same report as ``slawatch evaluate`` and the
same view helpers as the portal's contract page. Laid out for A4 (landscape:
the windows table keeps every column), with page numbers, the provider's and
the customer's names, the period and when it was computed. Jinja2 with
autoescape: every value from a contract or an incident is escaped."""
from __future__ import annotations

from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from app.contracts.models import Contract
from app.reports import views

_env = Environment(loader=PackageLoader("app.reports", "templates"), autoescape=select_autoescape(["html"]))
_env.filters.update(local=views.local, duration=views.duration)


def render(report: dict, contract: Contract, incidents, p0: datetime, p1: datetime, provider: str = "",
           customer: str = "") -> str:
    tz = contract.timezone
    titles = {i.id: views.title(i.category, i.started_at, tz) for i in incidents}
    shown = [i for i in incidents if i.started_at < p1 and (i.resolved_at is None or i.resolved_at >= p0)]
    return _env.get_template("statement.html").render(
        report=report, contract=contract, credit=report["credit"], term=report["termination_right"], tz=tz,
        provider=provider, customer=customer or contract.customer or "", titles=titles, incidents=shown,
        attributions=views.ATTRIBUTION, marks=views.marks(incidents, p0, p1, tz),
        windows=views.window_rows(report, titles), lines=views.credit_lines(report, contract, p0, p1))
