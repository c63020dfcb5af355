"""``POST /v1/evaluations``: the same case and report as ``slawatch evaluate``."""
from __future__ import annotations

from fastapi import APIRouter, Request

from app.contracts.models import Case
from app.evaluation.service import evaluate_case, parse_case_json, validate_case

router = APIRouter(prefix="/v1", tags=["evaluation"])
MAX_BODY = 5 * 1024 * 1024

_CASE_SCHEMA = Case.model_json_schema(ref_template="#/components/schemas/{model}")
CASE_DEFS = _CASE_SCHEMA.pop("$defs", {})


@router.post(
    "/evaluations",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _CASE_SCHEMA}}}},
    responses={422: {"description": "invalid case (application/problem+json naming the field)"}},
)
async def create_evaluation(request: Request) -> dict:
    """Evaluate one contract-month. The body is read as JSON with exact decimals
    (never through a float), then validated like the CLI's case."""
    from fastapi import HTTPException

    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"body larger than {MAX_BODY} bytes")
    case = validate_case(parse_case_json(body))
    return evaluate_case(case, request.app.state.rules)
