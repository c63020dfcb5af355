"""Stored billing data of a contract (the ledger's input), read from the database."""
from __future__ import annotations

from collections import defaultdict

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.ledger.models import Invoice, Notice, StorageSample
from app.storage.tables import InvoiceRow, NoticeRow, StorageSampleRow


async def stored_billing(db: AsyncSession, contract_id: str):
    invoices = [Invoice.model_validate(r.body) for r in (await db.exec(
        select(InvoiceRow).where(InvoiceRow.contract_id == contract_id).order_by(InvoiceRow.id))).all()]
    storage = [StorageSample(at=r.at, used_mb=r.used_mb) for r in (await db.exec(
        select(StorageSampleRow).where(StorageSampleRow.contract_id == contract_id)
        .order_by(StorageSampleRow.at))).all()]
    notices = [Notice.model_validate(r.body) for r in (await db.exec(
        select(NoticeRow).where(NoticeRow.contract_id == contract_id).order_by(NoticeRow.id))).all()]
    return invoices, storage, notices


async def all_billing(db: AsyncSession) -> dict[str, tuple[list, list, list]]:
    """Every contract's stored billing data in three queries (the metrics and
    ticket loops, which look at every contract each round)."""
    out: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
    for r in (await db.exec(select(InvoiceRow).order_by(InvoiceRow.contract_id, InvoiceRow.id))).all():
        out[r.contract_id][0].append(Invoice.model_validate(r.body))
    for r in (await db.exec(select(StorageSampleRow).order_by(StorageSampleRow.contract_id,
                                                              StorageSampleRow.at))).all():
        out[r.contract_id][1].append(StorageSample(at=r.at, used_mb=r.used_mb))
    for r in (await db.exec(select(NoticeRow).order_by(NoticeRow.contract_id, NoticeRow.id))).all():
        out[r.contract_id][2].append(Notice.model_validate(r.body))
    return out
