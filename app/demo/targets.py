"""The example contracts and the demo targets that watch the demo services,
loaded on every ``slawatch run --demo`` (replacing earlier copies, so a changed
port or example file takes effect)."""
from __future__ import annotations

from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from app.contracts.rules import Rules, load_contract
from app.contracts.service import import_contracts
from app.demo.mailbox import ADDRESS, PASSWORD, USER
from app.demo.state import Demo
from app.storage.tables import TargetRow
from probes import TARGETS

INTERVAL, TIMEOUT = 10.0, 8.0  # seconds: an incident opens ~30 s after a break (3 failed rounds)
SMS_TO = "+8613800000000"


def demo_targets(demo: Demo, public_url: str) -> list[TargetRow]:
    h, tls = demo.host, {"ca_file": str(demo.ca_file)}
    imap = {"host": h, "port": demo.port("imap"), "username": USER, "password": PASSWORD}
    specs = [
        ("demo-mail-roundtrip", "demo-xiamen-mail", "mail_roundtrip", "mail_send_receive",
         {"smtp": {"host": h, "port": demo.port("smtp")}, "mail_from": "noc@demo.slawatch", "rcpt_to": ADDRESS,
          "imap": imap, "poll_interval": 0.2}),
        ("demo-mail-imap", "demo-aliyun-mail", "imap", "mail_send_receive", imap),
        ("demo-server-https", "demo-ningbo-colo", "http", "server_fault",
         {"url": f"https://{h}:{demo.port('https')}/", "tls": tls}),
        ("demo-crm-https", "demo-shengjing-crm", "http", "service_unavailable",
         {"url": f"https://{h}:{demo.port('https')}/crm", "tls": tls, "body_regex": "all well"}),
        ("demo-sms", "demo-inolink-sms", "sms", "sms_delivery",
         {"to": SMS_TO, "kannel": {"url": f"http://{h}:{demo.port('sms')}", "username": "demo", "password": "demo"},
          "callback_url": f"{public_url.rstrip('/')}/v1/sms/deliveries", "text": "slawatch demo"}),
    ]
    return [TargetRow(id=tid, contract_id=cid, protocol=proto, category=cat, interval=INTERVAL, timeout=TIMEOUT,
                      config=TARGETS[proto].model_validate(cfg).model_dump(mode="json"))
            for tid, cid, proto, cat, cfg in specs]


async def install_demo(db: AsyncSession, demo: Demo, rules: Rules, public_url: str) -> list[TargetRow]:
    examples = sorted((rules.root / "contracts" / "examples").glob("*.yaml"))
    await import_contracts(db, [load_contract(f, Path.cwd(), rules.templates) for f in examples], rules)
    rows = demo_targets(demo, public_url)
    for row in rows:
        old = await db.get(TargetRow, row.id)
        if old is not None:
            await db.delete(old)
            await db.flush()
        db.add(row)
    await db.commit()
    return rows
