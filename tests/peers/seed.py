"""Rows written straight into a fresh database (no API in between): a customer,
one aliyun-mail contract and TCP targets, for the tests and benchmarks that
drive a ``Worker`` themselves."""
from __future__ import annotations

from app.storage.tables import ContractRow, Customer, TargetRow


async def seed_tcp_targets(sessions, ids: list[str], port: int, interval: float, timeout: float) -> list[TargetRow]:
    async with sessions() as db:
        db.add(Customer(id="acme", name="Acme"))
        await db.flush()
        db.add(ContractRow(id="c", customer_id="acme", template="aliyun-mail",
                           body={"id": "c", "template": "aliyun-mail", "customer": "acme"}))
        await db.flush()
        rows = [TargetRow(id=tid, contract_id="c", protocol="tcp", category="mail_send_receive", interval=interval,
                          timeout=timeout, config={"host": "127.0.0.1", "port": port}) for tid in ids]
        db.add_all(rows)
        await db.commit()
    return rows
