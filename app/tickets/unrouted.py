"""Alerts that name no known contract (issue 19): each kept once per source and
fingerprint (re-sends count up ``times``), and one ticket to the operator per
contract name they give — the name is what needs mapping in
``sla_rules/intake.yaml`` or creating as a contract, however many alerts carry it."""
from __future__ import annotations

import hashlib
import logging

from app.storage.tables import UnroutedAlertRow
from app.tickets.events import TicketEvent
from app.tickets.outbox import file

log = logging.getLogger("slawatch.intake")


def operator_event(source: str, contract_label: str | None, labels: dict, link_base: str) -> TicketEvent:
    name = contract_label or ""
    key = f"unrouted:{hashlib.sha256(name.encode()).hexdigest()[:24]}"
    return TicketEvent(key, "unrouted_alert", None, None, {
        "contract_label": contract_label, "source": source, "alertname": labels.get("alertname"),
        "hint": "map the alert's labels in sla_rules/intake.yaml, or create the contract it names",
        "link": f"{link_base}/v1/intake/unrouted", "api": f"{link_base}/v1/intake/unrouted"})


async def keep(db, *, source: str, fingerprint: str, labels: dict, status: str, starts_at, ends_at,
               contract_label: str | None, now, link_base: str) -> None:
    """Record (or count again) one unrouted alert and file the operator's ticket once; commits."""
    rid = f"{source}-{fingerprint}"
    row = await db.get(UnroutedAlertRow, rid)
    if row is None:
        row = UnroutedAlertRow(id=rid, source=source, fingerprint=fingerprint, labels=labels,
                               contract_label=(contract_label or None) and contract_label[:200],
                               alertname=(labels.get("alertname") or "")[:200] or None, status=status,
                               starts_at=starts_at, ends_at=ends_at, first_seen=now, last_seen=now)
        db.add(row)
        log.warning("alert %s (%s) names no known contract (slawatch_contract=%r): kept, the operator is told",
                    fingerprint, labels.get("alertname", "?"), contract_label)
    else:
        row.status, row.ends_at, row.last_seen, row.times = status, ends_at, now, row.times + 1
        row.labels = labels
    await db.flush()
    await file(db, None, [operator_event(source, contract_label, labels, link_base)], link_base)
