"""Stored billing data of a contract (the ledger's input), read from the database."""
from __future__ import annotations

from collections import defaultdict

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.ledger.models import Invoice, Notice, StorageSample
from app.storage.tables import InvoiceRow, NoticeRow, StorageSampleRow


async def stored_billing(db: AsyncSession, contract_id: str) -> tuple[list, list, list]:
    """One contract's invoices, storage samples and notices."""
    return (await _billing(db, contract_id))[contract_id]


async def all_billing(db: AsyncSession) -> dict[str, tuple[list, list, list]]:
    """Every contract's, in three queries (the metrics and ticket loops, which
    look at every contract each round)."""
    return await _billing(db, None)


async def _billing(db: AsyncSession, contract_id: str | None) -> dict[str, tuple[list, list, list]]:
    out: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))

    def rows(table, *order):
        q = select(table).order_by(table.contract_id, *order)
        return db.exec(q if contract_id is None else q.where(table.contract_id == contract_id))
    for r in (await rows(InvoiceRow, InvoiceRow.id)).all():
        out[r.contract_id][0].append(Invoice.model_validate(r.body))
    for r in (await rows(StorageSampleRow, StorageSampleRow.at)).all():
        out[r.contract_id][1].append(StorageSample(at=r.at, used_mb=r.used_mb))
    for r in (await rows(NoticeRow, NoticeRow.id)).all():
        out[r.contract_id][2].append(Notice.model_validate(r.body))
    return out
