"""``GET /v1/tokens`` and ``DELETE /v1/tokens/{id}`` (admin): list and revoke
API tokens without SQL. A revoked token stops working within 5 s (the
authentication cache)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel

from app.api.deps import Db, not_found, require
from app.auth.service import Principal, describe, list_tokens, revoke_token

router = APIRouter(prefix="/v1/tokens", tags=["tokens"], dependencies=[Depends(require("admin"))])


class TokenPublic(BaseModel):
    id: str
    role: str
    customer_id: str | None
    name: str
    created_at: str
    last_used_at: str | None
    expires_at: str | None
    revoked: bool


class TokenPage(BaseModel):
    items: list[TokenPublic]
    total: int


@router.get("", response_model=TokenPage)
async def tokens(*, db: Db) -> TokenPage:
    items = [TokenPublic(**describe(r)) for r in await list_tokens(db)]
    return TokenPage(items=items, total=len(items))


@router.delete("/{token_id}", status_code=204, response_class=Response)
async def revoke(*, token_id: str, who: Principal = Depends(require("admin")),
                 db: Db) -> Response:
    if token_id == who.token_id:  # an admin never locks themselves out by accident: use another admin token
        raise HTTPException(409, "this is the token making the request: revoke it with another admin token "
                                 "or slawatch tokens revoke")
    if not await revoke_token(db, token_id):
        raise not_found("token", token_id)
    return Response(status_code=204)
