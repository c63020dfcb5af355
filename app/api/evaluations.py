"""``POST /v1/evaluations``: the same case and report as ``slawatch evaluate``."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.api import schemas as S
from app.api.deps import RulesNow, principal
from app.contracts.cases import parse_case_json
from app.contracts.models import Case
from app.evaluation.service import evaluate_case, validate_case
from app.ledger.models import LedgerCase
from app.ledger.service import ledger_case, validate_ledger_case

router = APIRouter(prefix="/v1", tags=["evaluation"], dependencies=[Depends(principal)])
SCHEMA_DEFS: dict = {}  # merged into the OpenAPI components by create_app


def _body(model) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    SCHEMA_DEFS.update(schema.pop("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


INVALID = {422: {"description": "invalid case (application/problem+json naming the field)"}}


async def read_case(request: Request, validate):
    """The body as JSON with exact decimals (never through a float), validated
    like the CLI's case."""
    return validate(parse_case_json(await request.body()))  # size: app.api.limits


@router.post("/evaluations", openapi_extra=_body(Case), responses=INVALID, response_model=S.Report)
async def create_evaluation(request: Request, rules: RulesNow) -> JSONResponse:
    """Evaluate one contract-month: windows, outage, credit, cap, termination right."""
    # the engine's JSON as it is (the model documents it; re-encoding would add absent keys)
    return JSONResponse(evaluate_case(await read_case(request, validate_case), rules))


@router.post("/ledger", openapi_extra=_body(LedgerCase), responses=INVALID, response_model=S.LedgerReport)
async def create_ledger(request: Request, rules: RulesNow) -> JSONResponse:
    """A contract's billing terms at an instant: charges, deadlines, notices, status."""
    return JSONResponse(ledger_case(await read_case(request, validate_ledger_case), rules))
