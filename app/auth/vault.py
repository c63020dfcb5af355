"""Secrets at rest: probe passwords, gateway passwords, webhook secrets. They are
accepted on create/replace, stored encrypted (Fernet, keys from
``SLAWATCH_SECRET_KEY``), never returned (``"***set***"``) and replaced only by a
new value — sending ``"***set***"`` back keeps the stored one.

A secret is any value under a key named in ``SECRET_KEYS``, at any depth of a
target's config or a contract's body. Stored, it reads ``fernet:<token>``.
Several keys (comma-separated, newest first) let a key be rotated: the first
encrypts, every one decrypts; ``slawatch secrets rotate`` re-encrypts with the
first, after which the old one can go."""
from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SEALED = "fernet:"
MASK = "***set***"
SECRET_KEYS = frozenset({"password", "webhook_secret", "secret", "api_key", "authorization"})
MAX_DEPTH = 32


class VaultError(ValueError):
    """No key to seal with, a key that is not a Fernet key, or one that cannot open what is stored."""


def parse_keys(text: str | None) -> list[bytes]:
    keys = [k.strip().encode() for k in (text or "").split(",") if k.strip()]
    for k in keys:
        try:
            Fernet(k)
        except ValueError:
            raise VaultError("not a Fernet key (run slawatch secrets keygen)") from None
    return keys


def _walk(obj: Any, on_secret, depth: int = 0) -> Any:
    """A copy of ``obj`` with every secret value replaced by ``on_secret(value, path)``."""
    if depth > MAX_DEPTH:
        return obj
    if isinstance(obj, dict):
        return {k: (on_secret(v) if k in SECRET_KEYS and isinstance(v, str) and v else _walk(v, on_secret, depth + 1))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_walk(v, on_secret, depth + 1) for v in obj]
    return obj


def secrets_in(obj: Any) -> list[str]:
    found: list[str] = []
    _walk(obj, lambda v: found.append(v) or v)
    return found


def mask(obj: Any) -> Any:
    """What any API answer shows of a stored document: never a secret."""
    return _walk(obj, lambda v: MASK)


def _keep_masked(new: Any, old: Any, depth: int = 0) -> Any:
    """``"***set***"`` in a replacement means "the stored value": take it from ``old``."""
    if depth > MAX_DEPTH:
        return new
    if isinstance(new, dict):
        olds = old if isinstance(old, dict) else {}
        return {k: (olds[k] if k in SECRET_KEYS and v == MASK and olds.get(k)
                    else _keep_masked(v, olds.get(k), depth + 1)) for k, v in new.items()}
    if isinstance(new, list):
        olds = old if isinstance(old, list) else []
        return [_keep_masked(v, olds[i] if i < len(olds) else None, depth + 1) for i, v in enumerate(new)]
    return new


class Vault:
    def __init__(self, keys: list[bytes]):
        self.keys = keys
        self.fernet = MultiFernet([Fernet(k) for k in keys]) if keys else None

    @classmethod
    def from_text(cls, text: str | None) -> Vault:
        return cls(parse_keys(text))

    def seal(self, obj: Any, previous: Any = None, field: str = "") -> Any:
        """Encrypt every plain secret of ``obj`` (``***set***`` keeps ``previous``'s)."""
        obj = _keep_masked(obj, previous)

        def one(value: str) -> str:
            if value.startswith(SEALED):
                return value
            if value == MASK:
                raise VaultError(f"{field or 'secret'}: {MASK} stands for a stored value, and none is stored")
            if self.fernet is None:
                raise VaultError(f"{field or 'secret'}: this server has no SLAWATCH_SECRET_KEY to store secrets "
                                 "with (slawatch secrets keygen)")
            return SEALED + self.fernet.encrypt(value.encode()).decode()
        return _walk(obj, one)

    def unseal(self, obj: Any) -> Any:
        """The document with its secrets in the clear, for the probe or sink that uses them."""
        def one(value: str) -> str:
            if not value.startswith(SEALED):
                return value
            if self.fernet is None:
                raise VaultError("SLAWATCH_SECRET_KEY: not set, and the database holds secrets "
                                 "(the key they were stored with is needed)")
            try:
                return self.fernet.decrypt(value[len(SEALED):].encode()).decode()
            except InvalidToken:
                raise VaultError("SLAWATCH_SECRET_KEY: cannot decrypt the stored secrets (a wrong key? while "
                                 "rotating, keep the old key after the new one)") from None
        return _walk(obj, one)

    def rotate(self, obj: Any) -> Any:
        """Re-encrypt every sealed secret with the first key."""
        def one(value: str) -> str:
            if not value.startswith(SEALED) or self.fernet is None:
                return value
            return SEALED + self.fernet.rotate(value[len(SEALED):].encode()).decode()
        return _walk(obj, one)


def keygen() -> str:
    return Fernet.generate_key().decode()
