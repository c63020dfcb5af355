"""Loading ``sla_rules/``: templates, PRC calendar overrides and contract files.

This is the I/O edge for the rules: it reads files and hands plain objects to the
pure engine. Any bad file stops the load with ``file:line: field: message``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import Field

from app.calendars.schedule import WorkdaySchedule, YearOverride
from app.contracts.intake import IntakeRules
from app.contracts.models import Contract
from app.contracts.params import ParamError, resolve_params
from app.contracts.templates import Template, check_template
from app.contracts.types import Strict
from app.contracts.yamlfile import RulesError, YamlDoc
from app.maintenance.schema import MaintenanceIn
from app.oncall.models import OnCall

_CAL_FILE = re.compile(r"^cn-(\d{4})\.ya?ml$")


class CalendarFile(Strict):
    """``sla_rules/calendars/cn-YYYY.yaml``: one year's State Council schedule.
    Weekends are off unless listed in ``workdays`` (调休上班); ``holidays`` are off."""

    year: int
    holidays: list[date] = []
    workdays: list[date] = []
    source: str = ""


@dataclass
class Rules:
    root: Path
    templates: dict[str, Template] = field(default_factory=dict)
    schedule: WorkdaySchedule = field(default_factory=WorkdaySchedule)
    contracts: dict[str, Contract] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    oncall: OnCall | None = None  # sla_rules/oncall.yaml: who is on duty (app.oncall)
    intake: IntakeRules | None = None  # sla_rules/intake.yaml: alerts' labels → contract and category
    maintenance: list[MaintenanceIn] = field(default_factory=list)  # sla_rules/maintenance/*.yaml

    def replace_with(self, other: Rules) -> None:
        """Swap in a newly loaded set. Every holder of this object (the API, the
        SLA metrics, the ticket round) sees it from its next use; nothing half-loaded
        is ever visible, since ``other`` was validated whole before."""
        self.templates, self.schedule, self.contracts, self.files, self.oncall = (
            other.templates, other.schedule, other.contracts, other.files, other.oncall)
        self.intake, self.maintenance = other.intake, other.maintenance


def reload_rules(rules: Rules) -> Rules:
    """Read ``rules.root`` again; a bad file raises ``RulesError`` (file:line) and
    the running set stays as it was."""
    rules.replace_with(load_rules(rules.root))
    return rules


def _display(base: Path, path: Path) -> str:
    """How a file is named in messages: relative to ``base`` (the folder holding sla_rules/)."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_calendar(path: Path, base: Path) -> YearOverride:
    doc = YamlDoc(path, _display(base, path))
    m = _CAL_FILE.match(path.name)
    if not m:
        raise RulesError(doc.display, None, "", "calendar files are named cn-YYYY.yaml")
    cal = doc.validate(CalendarFile)
    if cal.year != int(m.group(1)):
        raise doc.error(("year",), f"year {cal.year} does not match the file name")
    for key in ("holidays", "workdays"):
        for i, d in enumerate(getattr(cal, key)):
            if d.year != cal.year:
                raise doc.error((key, i), f"{d.isoformat()} is not in {cal.year}")
    both = set(cal.holidays) & set(cal.workdays)
    if both:
        raise doc.error(("workdays",), f"{min(both).isoformat()} is listed as holiday and workday")
    return YearOverride(cal.year, frozenset(cal.holidays), frozenset(cal.workdays), doc.display)


def load_template(path: Path, base: Path) -> Template:
    doc = YamlDoc(path, _display(base, path))
    template = doc.validate(Template)
    problem = check_template(template, expected_id=path.stem)
    if problem:
        raise doc.error(*problem)
    return template


def load_contract(path: Path, base: Path, templates: dict[str, Template]) -> Contract:
    doc = YamlDoc(path, _display(base, path))
    contract = doc.validate(Contract)
    if contract.template not in templates:
        known = ", ".join(sorted(templates))
        raise doc.error(("template",), f"unknown template {contract.template!r} (known: {known})")
    try:
        resolve_params(templates[contract.template], contract.params)
    except ParamError as exc:
        raise doc.error(("params", exc.name), exc.message) from None
    return contract


def load_rules(root: str | Path) -> Rules:
    """Load every file under ``root``; the first bad one raises ``RulesError``."""
    root = Path(root)
    if not (root / "templates").is_dir():
        raise RulesError(str(root), None, "", "no templates/ folder here (set SLAWATCH_RULES_DIR)")
    rules, base = Rules(root), root.parent
    overrides = {}
    for path in _yaml_files(root / "calendars"):
        o = load_calendar(path, base)
        overrides[o.year] = o
        rules.files.append(o.source)
    rules.schedule = WorkdaySchedule(overrides, override_dir=_display(base, root / "calendars"))
    for path in _yaml_files(root / "templates"):
        t = load_template(path, base)
        rules.templates[t.id] = t
        rules.files.append(_display(base, path))
    for path in _yaml_files(root / "contracts"):
        c = load_contract(path, base, rules.templates)
        shown = _display(base, path)
        if c.id in rules.contracts:
            raise RulesError(shown, YamlDoc(path, shown).line_of(("id",)), "id", f"contract id {c.id!r} is used twice")
        rules.contracts[c.id] = c
        rules.files.append(shown)
    if (root / "oncall.yaml").is_file():
        rules.oncall = load_oncall(root / "oncall.yaml", base)
        rules.files.append(_display(base, root / "oncall.yaml"))
    if (root / "intake.yaml").is_file():
        rules.intake = load_intake(root / "intake.yaml", base)
        rules.files.append(_display(base, root / "intake.yaml"))
    seen: dict[str, str] = {}
    for path in _yaml_files(root / "maintenance"):
        rules.maintenance += load_maintenance(path, base, seen)
        rules.files.append(_display(base, path))
    return rules


class MaintenanceFile(Strict):
    """``sla_rules/maintenance/*.yaml``: planned maintenance, the API's fields."""
    windows: list[MaintenanceIn] = Field(max_length=1000)


def load_maintenance(path: Path, base: Path, seen: dict[str, str] | None = None) -> list[MaintenanceIn]:
    """One maintenance file; ``seen`` (id → file) spans the files: an id used twice is an error."""
    seen = {} if seen is None else seen
    shown = _display(base, path)
    doc = YamlDoc(path, shown)
    windows = doc.validate(MaintenanceFile).windows
    for i, w in enumerate(windows):
        if w.id in seen:
            raise doc.error(("windows", i, "id"), f"window id {w.id!r} is already used in {seen[w.id]}")
        seen[w.id] = shown
    return windows


def load_intake(path: Path, base: Path) -> IntakeRules:
    """The alert routes (``sla_rules/intake.yaml``); a bad one raises ``RulesError`` (file:line)."""
    return YamlDoc(path, _display(base, path)).validate(IntakeRules)


def load_oncall(path: Path, base: Path) -> OnCall:
    """The rota (``sla_rules/oncall.yaml``); a bad one raises ``RulesError`` (file:line)."""
    return YamlDoc(path, _display(base, path)).validate(OnCall)
