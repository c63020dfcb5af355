"""Proposed targets written as the API writes them (``TargetCreate``, the probe's own
config check, secrets sealed): each one that fails says why and is skipped; the
rest go in one transaction. A target id already there is left as it is."""
from __future__ import annotations

from pydantic import ValidationError
from sqlmodel import select

from app.auth.vault import Vault
from app.contracts.errors import CaseError, error_loc, error_message, first_errors
from app.importers import Proposals
from app.probing.targets import TargetCreate, target_row
from app.storage.tables import ContractRow, TargetRow


async def store(db, found: Proposals, vault: Vault, write: bool = True) -> tuple[list[TargetRow], list]:
    """(the rows written — or that would be, when not ``write`` —, the skipped with why)."""
    skipped = list(found.skipped)
    contracts = set((await db.exec(select(ContractRow.id))).all())
    existing = set((await db.exec(select(TargetRow.id))).all())
    rows = []
    for proposal in found.targets:
        what = f"{proposal['id']} ({proposal['protocol']})"
        if proposal["contract_id"] not in contracts:
            skipped.append((what, f"no contract {proposal['contract_id']!r}"))
            continue
        if proposal["id"] in existing:
            skipped.append((what, "a target with this id exists (left as it is)"))
            continue
        try:
            row = target_row(TargetCreate.model_validate(proposal), vault)
        except ValidationError as exc:
            err = first_errors(exc)[0]
            skipped.append((what, f"{'.'.join(map(str, error_loc(err))) or 'target'}: {error_message(err)}"))
            continue
        except CaseError as exc:
            skipped.append((what, f"{exc.pointer.lstrip('/').replace('/', '.')}: {exc.message}"))
            continue
        existing.add(row.id)
        rows.append(row)
    if write and rows:
        db.add_all(rows)
        await db.commit()
    return rows, skipped
