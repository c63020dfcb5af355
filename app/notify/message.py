"""What every on-duty message says (pure): contract, customer, the incident, the
window with its clause in the contract's words, the deadline in Beijing time,
time left or overdue, and the acknowledge link."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from app.reports.views import duration

BEIJING = ZoneInfo("Asia/Shanghai")
KIND = {"window_breached": "超时 BREACHED", "window_warning": "即将超时 close to its deadline",
        "major_incident": "重大故障 major incident", "termination_right": "终止权 termination right",
        "ledger_deadline": "合同期限 ledger deadline", "evaluation_error": "无法计算 cannot be evaluated",
        "escalation": "升级 escalated", "still_open": "仍未确认 still unacknowledged",
        "unrouted_alert": "告警未对应合同 alert for no known contract"}


@dataclass(frozen=True)
class Page:
    title: str
    severity: str  # red | orange | blue
    lines: tuple[tuple[str, str], ...]  # (label, value), in order
    ack_link: str | None
    link: str | None
    paged: tuple[dict, ...] = ()  # the people the rota names (escalation): name, mobile, channel ids


def _left(deadline: str | None, now: datetime) -> str | None:
    if not deadline:
        return None
    due = datetime.fromisoformat(deadline)
    s = (due - now).total_seconds()
    return f"{'剩余 left' if s >= 0 else '已超时 overdue'} {duration(abs(s))}"


def page_of(t: dict, now: datetime | None = None) -> Page:
    p = t["payload"]
    now = now or datetime.now(timezone.utc)
    deadline = p.get("deadline")
    local = datetime.fromisoformat(deadline).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") if deadline else None
    # an alert for no known contract: the operator's ticket names what the alert said
    lines = (("合同 Contract", t["contract_id"] or p.get("contract_label")),
             ("客户 Customer", t.get("customer_id") or p.get("customer")),
             ("故障 Incident", t.get("incident_id")), ("时限 Window", p.get("window")),
             ("条款 Clause", " ".join(x for x in (p.get("clause"), p.get("original")) if x) or None),
             ("截止 Deadline (北京时间)", local), ("", _left(deadline, now)))
    severity = "red" if t["kind"] in ("window_breached", "major_incident", "termination_right") or \
        p.get("step") == "breach" else "orange"
    paged = tuple(p.get("page_to") or ())
    if paged:
        lines += (("值班 On duty", "、".join(x["name"] for x in paged)),)
    return Page(f"[slawatch] {t['contract_id'] or '运维 operator'} {p.get('window') or ''} "
                f"{KIND.get(t['kind'], t['kind'])}".replace(
                "  ", " "), severity, tuple((k, str(v)) for k, v in lines if v), p.get("ack_link"), p.get("link"),
                paged)


def markdown(page: Page) -> str:
    body = "\n".join(f"- **{k}**: {v}" if k else f"- {v}" for k, v in page.lines)
    links = " · ".join(x for x in (f"[确认 Acknowledge]({page.ack_link})" if page.ack_link else "",
                                   f"[详情 Details]({page.link})" if page.link else "") if x)
    return f"### {page.title}\n{body}\n\n{links}".rstrip()
