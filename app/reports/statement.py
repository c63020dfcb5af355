"""The customer's monthly statement as one HTML page — incidents, each window
with its deadline and outcome, the availability timeline as inline SVG, the
credit lines with their clauses, the cap and the amount owed — from the same
report as ``slawatch evaluate``. Jinja2 with autoescape: every value from a
contract or an incident is escaped."""
from __future__ import annotations

from datetime import datetime
from html import escape

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

STATUS_ZH = {"met": "达标 met", "breached": "超时 breached", "running": "进行中 running", "excluded": "免责 excluded"}
CSS = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}"
       ".breached{color:#b00020;font-weight:bold}.total{font-size:1.3em}")
_env = Environment(loader=PackageLoader("app.reports", "templates"), autoescape=select_autoescape(["html"]))


def timeline_svg(report: dict, p0: datetime, p1: datetime, incidents) -> Markup:
    """Outage bars across the month (provider outage in red)."""
    width, span = 720, (p1 - p0).total_seconds()
    bars = []
    for inc in incidents:
        if inc.attribution not in ("provider", "unknown"):
            continue
        start = max(inc.started_at, p0)
        end = min(inc.resolved_at or p1, p1)
        if end <= start:
            continue
        x = (start - p0).total_seconds() / span * width
        w = max((end - start).total_seconds() / span * width, 1.5)
        bars.append(f'<rect x="{x:.1f}" y="10" width="{w:.1f}" height="30" fill="#d32f2f">'
                    f"<title>{escape(inc.id)}</title></rect>")
    ticks = "".join(f'<text x="{d / ((p1 - p0).days) * width:.0f}" y="58" font-size="10">{d + 1}</text>'
                    for d in range(0, (p1 - p0).days, 5))
    avail = escape(report["outage"]["availability_percent"])
    return Markup(f'<svg role="img" aria-label="availability {avail}%" width="{width}" height="64" '
                  f'xmlns="http://www.w3.org/2000/svg"><rect x="0" y="10" width="{width}" height="30" fill="#c8e6c9"/>'
                  f"{''.join(bars)}{ticks}</svg>")


def render(report: dict, contract, incidents, p0: datetime, p1: datetime) -> str:
    return _env.get_template("statement.html").render(
        report=report, contract=contract, credit=report["credit"], term=report["termination_right"], css=CSS,
        status_zh=STATUS_ZH, timeline=timeline_svg(report, p0, p1, incidents))
