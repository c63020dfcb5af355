"""A probe target as written: a protocol, its config (validated against the probe
registry, its secrets sealed), the contract it watches and the incident category
its failures open. The API and ``slawatch import`` write targets through this."""
from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, model_validator

from app.auth.vault import Vault, VaultError
from app.contracts.errors import CaseError, case_error
from app.contracts.types import OUTAGE_CATEGORIES, Category, Ident, Strict
from app.probing.modules import TargetError, build_target
from app.storage.tables import TargetRow
from probes import TARGETS


class TargetCreate(Strict):
    """Either ``protocol`` and ``config``, or ``module`` (one of the probe modules
    file's, as ``/probe?module=`` uses them) and ``target`` (its ``target=``)."""
    id: Ident
    contract_id: str
    protocol: str | None = None
    config: dict[str, Any] | None = None
    module: str | None = Field(None, max_length=100)
    target: str | None = Field(None, max_length=2000)
    category: Category
    interval: float = Field(60.0, ge=1, le=86400)
    timeout: float = Field(10.0, gt=0, le=3600)
    locations: list[str] = Field(["default"], min_length=1)
    failures_to_open: int = Field(3, ge=1, le=100)
    successes_to_close: int = Field(2, ge=1, le=100)
    quorum: int | None = Field(None, ge=1)
    enabled: bool = True

    @model_validator(mode="after")
    def _checks(self):
        if (self.module is None) == (self.protocol is None) or (self.module is None) != (self.target is None) \
                or (self.protocol is None) != (self.config is None):
            raise ValueError("give protocol and config, or module and target")
        if self.module is not None:
            return self  # resolved against the loaded modules by ``from_module``
        if self.protocol not in TARGETS:
            raise ValueError(f"unknown protocol {self.protocol!r} (known: {', '.join(sorted(TARGETS))})")
        if self.timeout > self.interval:
            raise ValueError("timeout must be no longer than the interval")
        if self.category not in OUTAGE_CATEGORIES:
            raise ValueError(f"a probe opens outage incidents: category must be one of {sorted(OUTAGE_CATEGORIES)}")
        if self.quorum is not None and self.quorum > len(self.locations):
            raise ValueError("quorum is larger than the number of locations")
        return self


def from_module(body: TargetCreate, modules: dict) -> TargetCreate:
    """A ``module``/``target`` body as the protocol and config that module makes of the
    target (its timeout too, where the module sets one): one modules file serves
    Prometheus's ``/probe`` and the contracts' targets."""
    if body.module is None:
        return body
    module = modules.get(body.module)
    if module is None:
        raise CaseError("/module", f"unknown module {body.module!r} (known: {', '.join(sorted(modules))})")
    try:
        target = build_target(module, body.target)
    except TargetError as exc:
        raise CaseError("/target", str(exc)) from None
    own = module.timeout.total_seconds()
    update = {"protocol": module.prober, "config": target.model_dump(mode="json"), "module": None, "target": None}
    if own > 0:
        update["timeout"] = min(own, body.interval)
    return TargetCreate.model_validate({**body.model_dump(), **update})


def target_row(body: TargetCreate, vault: Vault) -> TargetRow:
    """The row to store; ``CaseError`` naming the config field when the probe refuses it."""
    try:
        config = TARGETS[body.protocol].model_validate(body.config).model_dump(mode="json")
    except ValidationError as exc:
        raise case_error(exc, ("config",)) from None
    try:
        config = vault.seal(config)
    except VaultError as exc:
        raise CaseError("/config", str(exc).split(": ", 1)[-1]) from None
    return TargetRow(**body.model_dump(exclude={"config", "module", "target"}), config=config)
