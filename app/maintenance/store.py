"""Stored maintenance windows: a window's scope checked and resolved (a target's
window is kept with its contract), who may see which, and the windows of
``sla_rules/maintenance/*.yaml`` kept in step with the files (``source: yaml``)."""
from __future__ import annotations

import logging

from sqlmodel import delete, or_, select

from app.auth.service import Principal
from app.maintenance.schema import MaintenanceIn
from app.storage.tables import ContractRow, Customer, MaintenanceWindowRow, TargetRow

log = logging.getLogger("slawatch.maintenance")


class ScopeError(LookupError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


async def row_for(db, body: MaintenanceIn, source: str, actor: str) -> MaintenanceWindowRow:
    """The row to store; ``ScopeError`` when the contract, target or customer is unknown."""
    contract_id = body.contract_id
    if body.target_id is not None:
        target = await db.get(TargetRow, body.target_id)
        if target is None:
            raise ScopeError("target_id", f"no target {body.target_id!r}")
        contract_id = target.contract_id
    elif contract_id is not None and await db.get(ContractRow, contract_id) is None:
        raise ScopeError("contract_id", f"no contract {contract_id!r}")
    if body.customer_id is not None and await db.get(Customer, body.customer_id) is None:
        raise ScopeError("customer_id", f"no customer {body.customer_id!r}")
    return MaintenanceWindowRow(**body.model_dump(exclude={"contract_id"}), contract_id=contract_id,
                                source=source, created_by=actor[:100])


async def contracts_of(db, row: MaintenanceWindowRow) -> list[str]:
    """The contracts a window concerns (their live state changes with it)."""
    if row.contract_id is not None:
        return [row.contract_id]
    return list((await db.exec(select(ContractRow.id).where(ContractRow.customer_id == row.customer_id))).all())


async def visible(db, who: Principal, contract_id: str | None = None,
                  customer_id: str | None = None) -> list[MaintenanceWindowRow]:
    """The windows ``who`` may see (a customer: their own contracts' and their own),
    narrowed to a contract (its own, its targets' and its customer's) or a customer."""
    q = select(MaintenanceWindowRow).order_by(MaintenanceWindowRow.starts_at, MaintenanceWindowRow.id)
    if who.is_customer:
        customer_id = who.customer_id
    if contract_id is not None:
        owner = (await db.exec(select(ContractRow.customer_id).where(ContractRow.id == contract_id))).first()
        if owner is None or not who.sees(owner):
            return []
        q = q.where(or_(MaintenanceWindowRow.contract_id == contract_id, MaintenanceWindowRow.customer_id == owner))
    elif customer_id is not None:
        mine = select(ContractRow.id).where(ContractRow.customer_id == customer_id)
        q = q.where(or_(MaintenanceWindowRow.customer_id == customer_id, MaintenanceWindowRow.contract_id.in_(mine)))
    return list((await db.exec(q.limit(5000))).all())


async def sync_files(sessions, windows: list[MaintenanceIn]) -> list[str]:
    """Make the ``source: yaml`` rows the files' windows, in one transaction; a file's
    window whose scope is unknown or whose id the API already uses is skipped and
    logged. Returns the contracts touched (to re-evaluate)."""
    touched: set[str] = set()
    async with sessions() as db:
        old = list((await db.exec(select(MaintenanceWindowRow).where(MaintenanceWindowRow.source == "yaml"))).all())
        for r in old:
            touched.update(await contracts_of(db, r))
        await db.exec(delete(MaintenanceWindowRow).where(MaintenanceWindowRow.source == "yaml"))
        for w in windows:
            if await db.get(MaintenanceWindowRow, w.id) is not None:
                log.error("sla_rules/maintenance: window %r skipped: the id is used by a window made "
                          "through the API", w.id)
                continue
            try:
                row = await row_for(db, w, "yaml", "sla_rules")
            except ScopeError as exc:
                log.error("sla_rules/maintenance: window %r skipped: %s", w.id, exc)
                continue
            db.add(row)
            touched.update(await contracts_of(db, row))
        await db.commit()
    return sorted(touched)
