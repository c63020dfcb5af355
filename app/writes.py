"""Every write is checked against the whole resulting case before it commits: a
change that would leave its contract impossible to evaluate is refused (422,
naming why) and leaves nothing behind, so one bad request can never take a
contract out of the tickets, the metrics and the NOC's windows.

Compared before and after, in the write's own transaction: a contract that
failed already is not made worse by the write (its error is shown where it
always is). A year with no holiday calendar yet (``no_calendar_*``) is the
operator's gap, not the write's: the incident is true and is kept — the
calendar warning and metric say what to import (SEMANTICS §year end)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.vault import Vault
from app.contracts.errors import CaseError
from app.contracts.models import Contract
from app.contracts.rules import Rules
from app.contracts.service import contract_of, import_contracts
from app.evaluation.service import evaluate_case
from app.incidents.cases import case_for, current_period
from app.ledger.models import LedgerCase
from app.ledger.service import ledger_case
from app.ledger.store import stored_billing
from app.storage.tables import ContractRow


def _problem(exc: Exception) -> str | None:
    """Why a contract cannot be evaluated, or None when the reason is not the data's."""
    if isinstance(exc, CaseError) and exc.reason.startswith("no_calendar_"):
        return None
    return str(exc) if isinstance(exc, CaseError) else f"{type(exc).__name__}: {exc}"


async def problems(db: AsyncSession, rules: Rules, row: ContractRow, periods: set[str], at: datetime,
                   contract: Contract | None = None) -> dict[str, str]:
    """Each period of the contract (and its ledger) that cannot be evaluated, with why."""
    contract = contract or contract_of(row)
    conn = await db.connection()
    out: dict[str, str] = {}
    for period in sorted(periods):
        try:
            evaluate_case(await case_for(conn, row, period, at, contract), rules)
        except Exception as exc:  # noqa: BLE001 - every type: that is the point
            if (why := _problem(exc)) is not None:
                out[period] = why
    invoices, storage, notices = await stored_billing(db, row.id)
    if invoices or storage or notices:
        try:
            ledger_case(LedgerCase(contract=contract, invoices=invoices, storage=storage, notices=notices, at=at),
                        rules)
        except Exception as exc:  # noqa: BLE001
            if (why := _problem(exc)) is not None:
                out["ledger"] = why
    return out


def periods_of(contract: Contract, *instants: datetime | None) -> set[str]:
    return {current_period(contract, t) for t in instants if t is not None}


async def ensure_evaluable(db: AsyncSession, rules: Rules, row: ContractRow, at: datetime, periods: set[str],
                           before: dict[str, str] | None = None, pointer: str = "/",
                           contract: Contract | None = None) -> None:
    """After a write, before its commit: a period (or the ledger) that evaluated
    before (``before``; None: a new contract) and fails now rolls it back and
    raises CaseError."""
    contract_id = row.id  # the rollback expires the row
    await db.flush()
    after = await problems(db, rules, row, periods, at, contract)
    new = {k: v for k, v in after.items() if k not in (before or {})}
    if new:
        await db.rollback()
        where, why = next(iter(sorted(new.items())))
        raise CaseError(pointer, f"refused: contract {contract_id!r} could not be evaluated after this change "
                                 f"({where}: {why})")


@asynccontextmanager
async def checked(db: AsyncSession, rules: Rules, row: ContractRow, at: datetime, *instants: datetime | None,
                  pointer: str = "/", contract: Contract | None = None):
    """Around a write to ``row``'s contract (its incidents, billing or the contract
    itself — ``contract`` is then the new one): the periods of ``at`` and
    ``instants`` are evaluated before and after; a new failure raises CaseError
    before anything is committed."""
    periods = periods_of(contract_of(row), at, *instants)
    before = await problems(db, rules, row, periods, at)
    yield
    await ensure_evaluable(db, rules, row, at, periods, before, pointer, contract)


async def create_contracts(db: AsyncSession, contracts: list[Contract], rules: Rules, vault: Vault,
                           at: datetime) -> None:
    """New or replaced contracts (the API, contract files, the demo), all or none:
    each must evaluate this month, with whatever incidents it has."""
    rows = await import_contracts(db, contracts, rules, vault, commit=False)
    for row, contract in zip(rows, contracts, strict=True):
        await ensure_evaluable(db, rules, row, at, periods_of(contract, at), None,
                               f"/{contract.id}" if len(contracts) > 1 else "/", contract)
    await db.commit()
