"""``POST /v1/portal/links``: a one-time sign-in link for a customer (or for
staff), made by staff; the link is the only time the secret exists outside the
caller (stored as a digest)."""
from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, model_validator

from app.api.deps import Db, require
from app.auth.service import Principal
from app.contracts.types import Strict
from app.portal.tokens import LINK_LIFE, MAX_LINK_LIFE, PortalError, create_link, link_url

router = APIRouter(prefix="/v1/portal", tags=["portal"])


class LinkCreate(Strict):
    customer_id: str | None = Field(None, max_length=64)
    role: str = Field("customer", pattern="^(customer|noc|admin)$")
    expires_in_seconds: int = Field(int(LINK_LIFE.total_seconds()), ge=60, le=int(MAX_LINK_LIFE.total_seconds()))

    @model_validator(mode="before")
    @classmethod
    def _staff_without_customer(cls, v):
        if isinstance(v, dict) and "role" not in v and "customer_id" not in v:
            raise ValueError("give customer_id (a customer's link) or role (noc, admin)")
        return v


class Link(BaseModel):
    url: str
    role: str
    customer_id: str | None
    expires_at: datetime


@router.post("/links", status_code=201, response_model=Link)
async def make_link(body: LinkCreate, request: Request, db: Db,
                    who: Principal = Depends(require("admin", "noc"))) -> dict:
    if body.role == "admin" and who.role != "admin":
        raise HTTPException(403, "an admin's link needs the admin role")
    life = timedelta(seconds=body.expires_in_seconds)
    try:
        token = await create_link(db, body.role, body.customer_id, life)
    except PortalError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"url": link_url(request.app.state.settings.public_url, token), "role": body.role,
            "customer_id": body.customer_id, "expires_at": datetime.now().astimezone() + life}
