import copy
import json
from pathlib import Path

import pytest

from app.contracts.rules import load_rules
from app.evaluation.service import evaluate_case, validate_case

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "sla_rules"


@pytest.fixture(scope="session")
def rules():
    return load_rules(RULES_DIR)


@pytest.fixture
def evaluate(rules):
    """Evaluate a case given as a plain dict (as it would arrive in JSON)."""
    def run(case: dict, rules_=None) -> dict:
        return evaluate_case(validate_case(json.loads(json.dumps(case))), rules_ or rules)
    return run


def make_case(template: str, incidents: list[dict], period: str, at: str, **contract) -> dict:
    c = {"id": "c-1", "template": template, "timezone": "Asia/Shanghai"}
    c.update(contract)
    return {"contract": c, "incidents": copy.deepcopy(incidents), "period": period, "at": at}


def incident(id: str, category: str, started: str, resolved: str | None = None, **kw) -> dict:
    d = {"id": id, "category": category, "attribution": kw.pop("attribution", "provider"),
         "started_at": started, "resolved_at": resolved}
    d.update(kw)
    return d


def row(report: dict, incident_id: str, window: str) -> dict:
    return next(r for r in report["windows"] if r["incident_id"] == incident_id and r["window"] == window)
