"""``GET /v1/templates`` and ``/v1/templates/{id}``; the same description feeds
``slawatch rules show`` (``app.reports.rules``)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from app.api import schemas as S
from app.api.deps import RulesNow, principal
from app.reports.rules import describe

router = APIRouter(prefix="/v1/templates", tags=["templates"], dependencies=[Depends(principal)])


@router.get("", response_model=list[S.Template])
def list_templates(rules: RulesNow) -> list[dict]:
    return [describe(t) for _, t in sorted(rules.templates.items())]


@router.get("/{template_id}", response_model=S.Template)
def get_template(template_id: str, rules: RulesNow) -> dict:
    t = rules.templates.get(template_id)
    if t is None:
        raise HTTPException(404, f"unknown template {template_id!r}")
    return describe(t)
