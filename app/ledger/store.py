"""Stored billing data of a contract (the ledger's input), read from the database."""
from __future__ import annotations

from collections import defaultdict

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.ledger.models import Invoice, Notice, StorageSample
from app.storage.tables import InvoiceRow, NoticeRow, StorageSampleRow


async def stored_billing(db: AsyncSession, contract_id: str) -> tuple[list, list, list]:
    """One contract's invoices, storage samples and notices."""
    return (await all_billing(db, [contract_id]))[contract_id]


async def all_billing(db: AsyncSession, contract_ids: list[str] | None = None) -> dict[str, tuple[list, list, list]]:
    """Every contract's (None), or those of ``contract_ids``, in three queries (the
    live state's rounds, which look at many contracts at once)."""
    out: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))

    def rows(table, *order):
        q = select(table).order_by(table.contract_id, *order)
        return db.exec(q if contract_ids is None else q.where(table.contract_id.in_(contract_ids)))
    for r in (await rows(InvoiceRow, InvoiceRow.id)).all():
        out[r.contract_id][0].append(Invoice.model_validate(r.body))
    for r in (await rows(StorageSampleRow, StorageSampleRow.at)).all():
        out[r.contract_id][1].append(StorageSample(at=r.at, used_mb=r.used_mb))
    for r in (await rows(NoticeRow, NoticeRow.id)).all():
        out[r.contract_id][2].append(Notice.model_validate(r.body))
    return out
