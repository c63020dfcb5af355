"""Secrets in the database as a whole: checked and sealed at start (so rows
written in the clear by an earlier version are encrypted, and a missing or
wrong key stops the start instead of every probe), and re-encrypted when the
key is rotated."""
from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.vault import SEALED, Vault, secrets_in
from app.storage.tables import ContractRow, TargetRow

DOCUMENTS = ((TargetRow, "config"), (ContractRow, "body"))


async def seal_stored(db: AsyncSession, vault: Vault, rotate: bool = False) -> int:
    """Open every stored secret (a wrong key raises ``VaultError``), seal the ones
    still in the clear (or, with ``rotate``, all with the first key); the number
    of rows changed."""
    changed = 0
    for table, column in DOCUMENTS:
        for row in (await db.exec(select(table))).all():
            doc = getattr(row, column)
            found = secrets_in(doc)
            if not found:
                continue
            vault.unseal(doc)  # every key that is needed must open it
            plain = any(not v.startswith(SEALED) for v in found)
            if plain or rotate:
                new = vault.seal(doc) if plain else doc
                setattr(row, column, vault.rotate(new) if rotate else new)
                if isinstance(row, ContractRow):
                    row.version += 1  # a cached parse of the body is stale
                db.add(row)
                changed += 1
    await db.commit()
    return changed
