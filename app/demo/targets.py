"""The example contracts and the demo targets that watch the demo services,
loaded on every ``slawatch run --demo`` (replacing earlier copies, so a changed
port or example file takes effect)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from app.contracts.rules import Rules, load_contract
from app.demo.mailbox import ADDRESS, PASSWORD, USER
from app.demo.state import Demo
from app.storage.tables import TargetRow
from app.writes import create_contracts
from probes import TARGETS

INTERVAL, TIMEOUT = 10.0, 8.0  # seconds: an incident opens ~30 s after a break (3 failed rounds)
SMS_TO = "+8613800000000"


# (demo service it watches, target, example contract, protocol, incident category)
WATCHERS = [
    ("mail", "demo-mail-roundtrip", "demo-xiamen-mail", "mail_roundtrip", "mail_send_receive"),
    ("mail", "demo-mail-imap", "demo-aliyun-mail", "imap", "mail_send_receive"),
    ("server", "demo-server-https", "demo-ningbo-colo", "http", "server_fault"),
    ("server", "demo-crm-https", "demo-shengjing-crm", "http", "service_unavailable"),
    ("sms", "demo-sms", "demo-inolink-sms", "sms", "sms_delivery"),  # 07:00-22:30 Beijing time only (一.3)
]


def watchers_of(service: str) -> list[tuple[str, str]]:
    """(target, contract) pairs that fail when ``service`` is broken."""
    return [(tid, cid) for svc, tid, cid, _, _ in WATCHERS if svc == service]


def _configs(demo: Demo, public_url: str) -> dict[str, dict]:
    h, tls = demo.host, {"ca_file": str(demo.ca_file)}
    imap = {"host": h, "port": demo.port("imap"), "username": USER, "password": PASSWORD}
    return {
        "demo-mail-roundtrip": {"smtp": {"host": h, "port": demo.port("smtp")}, "mail_from": "noc@demo.slawatch",
                                "rcpt_to": ADDRESS, "imap": imap, "poll_interval": 0.2},
        "demo-mail-imap": imap,
        "demo-server-https": {"url": f"https://{h}:{demo.port('https')}/", "tls": tls},
        "demo-crm-https": {"url": f"https://{h}:{demo.port('https')}/crm", "tls": tls, "body_regex": "all well"},
        "demo-sms": {"to": SMS_TO, "kannel": {"url": f"http://{h}:{demo.port('sms')}", "username": "demo",
                                              "password": "demo"},
                     "callback_url": f"{public_url.rstrip('/')}/v1/sms/deliveries", "text": "slawatch demo"},
    }


def demo_targets(demo: Demo, public_url: str) -> list[TargetRow]:
    configs = _configs(demo, public_url)
    return [TargetRow(id=tid, contract_id=cid, protocol=proto, category=cat, interval=INTERVAL, timeout=TIMEOUT,
                      config=TARGETS[proto].model_validate(configs[tid]).model_dump(mode="json"))
            for _, tid, cid, proto, cat in WATCHERS]


async def install_demo(db: AsyncSession, demo: Demo, rules: Rules, public_url: str, vault) -> list[TargetRow]:
    examples = sorted((rules.root / "contracts" / "examples").glob("*.yaml"))
    await create_contracts(db, [load_contract(f, Path.cwd(), rules.templates) for f in examples], rules, vault,
                           datetime.now(timezone.utc))
    rows = demo_targets(demo, public_url)
    for row in rows:
        row.config = vault.seal(row.config, field="config")  # the demo's passwords, encrypted like any
        old = await db.get(TargetRow, row.id)
        if old is not None:
            await db.delete(old)
            await db.flush()
        db.add(row)
    await db.commit()
    return rows
