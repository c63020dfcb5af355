"""What a portal page shows, built from the engine's report and the stored
incidents (pure): human titles, times in the contract's zone to the second,
every outage visible on the month bar, each credit line with its clause and
its arithmetic spelled out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.contracts.models import Contract
from app.reports.explain import Month, explain

CATEGORY = {
    "mail_send_receive": "邮件收发故障 Mail send/receive failure",
    "server_fault": "服务器故障 Server fault",
    "sms_delivery": "短信发送故障 SMS delivery failure",
    "service_unavailable": "服务不可用 Service unavailable",
    "mail_general": "邮件一般问题 Mail issue",
    "credential_reset": "密码重置 Credential reset",
    "activation": "开通 Activation",
    "renewal": "续费 Renewal",
}
STATUS = {"met": "达标 met", "breached": "超时 breached", "running": "进行中 running", "excluded": "免责 excluded",
          "open": "处理中 open", "paused": "暂停 paused", "resolved": "已解决 resolved"}
ATTRIBUTION = {"provider": "服务方 provider", "unknown": "待确认 unconfirmed", "customer": "客户 customer",
               "third_party": "第三方 third party", "force_majeure": "不可抗力 force majeure",
               "announced_maintenance": "已公告维护 announced maintenance"}
MIN_MARK = 0.4  # percent of the bar: a 50 s outage in a 30-day month still shows (basis: policy)


def local(instant: datetime | str | None, tz: str) -> str:
    """An instant in the contract's zone, to the second (``2026-11-30 23:53:09``)."""
    if instant is None:
        return "—"
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | int | None) -> str:
    """``1 h 05 min 09 s``: what a person reads, not a count of seconds."""
    s = int(seconds or 0)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    parts = ([f"{d} d"] if d else []) + ([f"{h} h"] if h or d else []) + ([f"{m:02d} min"] if h or d else
                                                                          [f"{m} min"] if m else []) + [f"{s:02d} s"]
    return " ".join(parts)


@dataclass(frozen=True)
class Mark:
    left: float  # percent of the month
    width: float
    title: str


def title(category: str, started_at: datetime, tz: str) -> str:
    return f"{CATEGORY.get(category, category)} · {local(started_at, tz)}"


def marks(incidents, p0: datetime, p1: datetime, tz: str) -> list[Mark]:
    """The month bar's outages (those that count: the provider's and unconfirmed
    ones), each at least ``MIN_MARK`` wide so none is invisible."""
    span = (p1 - p0).total_seconds()
    out = []
    for inc in incidents:
        if inc.attribution not in ("provider", "unknown"):
            continue
        start, end = max(inc.started_at, p0), min(inc.resolved_at or p1, p1)
        if end <= start:
            continue
        left = 100 * (start - p0).total_seconds() / span
        width = max(100 * (end - start).total_seconds() / span, MIN_MARK)
        out.append(Mark(round(min(left, 100 - width), 3), round(width, 3), title(inc.category, inc.started_at, tz)))
    return out


def credit_lines(report: dict, contract: Contract, p0: datetime, p1: datetime) -> list[dict]:
    month = Month(p0, p1, report["outage"]["seconds"])
    return [{**line, "arithmetic": explain(line, contract, month)} for line in report["credit"]["lines"]]


def window_rows(report: dict, titles: dict[str, str]) -> list[dict]:
    return [{**w, "title": titles.get(w["incident_id"], w["incident_id"]), "status_text": STATUS[w["status"]]}
            for w in report["windows"]]


def months_back(current: str, n: int = 12) -> list[str]:
    """The month picker's choices: this month and the ``n - 1`` before it."""
    y, m = int(current[:4]), int(current[5:7])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out
