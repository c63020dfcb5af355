"""Customers and contract instances in the database."""
from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.service import Principal
from app.auth.vault import Vault, VaultError
from app.contracts.errors import CaseError
from app.contracts.models import Contract
from app.contracts.params import ParamError, resolve_params
from app.contracts.rules import Rules
from app.storage.tables import ContractRow, Customer


def check_contract(contract: Contract, rules: Rules) -> None:
    """The template exists and the params fit it; errors name the field."""
    template = rules.templates.get(contract.template)
    if template is None:
        known = ", ".join(sorted(rules.templates))
        raise CaseError("/template", f"unknown template {contract.template!r} (known: {known})")
    try:
        resolve_params(template, contract.params)
    except ParamError as exc:
        raise CaseError(f"/params/{exc.name}", exc.message) from None
    if contract.customer is None:
        raise CaseError("/customer", "required: the customer this contract belongs to")


async def save_contract(db: AsyncSession, contract: Contract, rules: Rules, vault: Vault, replace: bool = False,
                        commit: bool = True) -> ContractRow:
    check_contract(contract, rules)
    if await db.get(Customer, contract.customer) is None:
        raise CaseError("/customer", f"unknown customer {contract.customer!r}")
    row = await db.get(ContractRow, contract.id)
    if row is not None and not replace:
        raise CaseError("/id", f"contract {contract.id!r} exists already")
    try:  # secrets sealed; "***set***" keeps the stored one
        body = vault.seal(contract.model_dump(mode="json"), row.body if row is not None else None)
    except VaultError as exc:
        raise CaseError("/tickets", str(exc).split(": ", 1)[-1]) from None  # its webhook or robot secrets
    if row is None:
        row = ContractRow(id=contract.id, customer_id=contract.customer, template=contract.template, body=body)
    else:
        row.customer_id, row.template, row.body = contract.customer, contract.template, body
        row.version += 1
    db.add(row)
    if commit:
        await db.commit()
    return row


async def import_contracts(db: AsyncSession, contracts: list[Contract], rules: Rules, vault: Vault,
                           commit: bool = True) -> list[ContractRow]:
    """Contract files into the database, creating their customers; all or nothing."""
    rows = []
    for c in contracts:
        if c.customer is None:
            raise CaseError("/customer", f"{c.id}: a contract file needs its customer")
        if await db.get(Customer, c.customer) is None:
            db.add(Customer(id=c.customer, name=c.customer))
            await db.flush()
        rows.append(await save_contract(db, c, rules, vault, replace=True, commit=False))
    if commit:
        await db.commit()
    return rows


_PARSED: dict[str, tuple[tuple, Contract]] = {}


def cached_contract(contract_id: str, stamp: tuple) -> Contract | None:
    """The contract parsed earlier, if its ``stamp`` (created_at, version) is still current."""
    hit = _PARSED.get(contract_id)
    return hit[1] if hit is not None and hit[0] == stamp else None


def remember_contract(contract_id: str, stamp: tuple, body: dict) -> Contract:
    contract = Contract.model_validate(body)
    if len(_PARSED) > 100_000:  # well above any deployment's contracts: a clear re-parses them all
        _PARSED.clear()
    _PARSED[contract_id] = (stamp, contract)
    return contract


def contract_of(row: ContractRow) -> Contract:
    """The stored contract, parsed once per version of its row."""
    stamp = (row.created_at, row.version)
    return cached_contract(row.id, stamp) or remember_contract(row.id, stamp, row.body)


async def visible_contracts(db: AsyncSession, who: Principal, customer_id: str | None = None) -> list[ContractRow]:
    q = select(ContractRow).order_by(ContractRow.id)
    if who.is_customer:
        q = q.where(ContractRow.customer_id == who.customer_id)
    if customer_id is not None:
        q = q.where(ContractRow.customer_id == customer_id)
    return list((await db.exec(q)).all())


async def get_visible_contract(db: AsyncSession, who: Principal, contract_id: str) -> ContractRow | None:
    row = await db.get(ContractRow, contract_id)
    return row if row is not None and who.sees(row.customer_id) else None
