"""Customers (admin writes; a customer token sees only its own)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import Field
from sqlmodel import select

from app.api.deps import Caller, Db, not_found, require
from app.auth.service import Principal
from app.contracts.types import Ident, Strict
from app.storage.tables import Customer

router = APIRouter(prefix="/v1/customers", tags=["customers"])


class CustomerCreate(Strict):
    id: Ident
    name: str = Field(min_length=1, max_length=200)


class CustomerPublic(Strict):
    id: str
    name: str


class Page(Strict):
    items: list[CustomerPublic]
    total: int


@router.get("", response_model=Page)
async def list_customers(*, limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
                         who: Caller, db: Db):
    q = select(Customer).order_by(Customer.id)
    if who.is_customer:
        q = q.where(Customer.id == who.customer_id)
    rows = list((await db.exec(q)).all())
    return {"items": [CustomerPublic(id=c.id, name=c.name) for c in rows[offset:offset + limit]], "total": len(rows)}


@router.post("", response_model=CustomerPublic, status_code=201)
async def create_customer(*, body: CustomerCreate, _: Principal = Depends(require("admin")),
                          db: Db):
    if await db.get(Customer, body.id) is not None:
        raise HTTPException(409, f"customer {body.id!r} exists already")
    db.add(Customer(id=body.id, name=body.name))
    await db.commit()
    return CustomerPublic(id=body.id, name=body.name)


@router.get("/{customer_id}", response_model=CustomerPublic)
async def get_customer(*, customer_id: str, who: Caller, db: Db):
    row = await db.get(Customer, customer_id)
    if row is None or not who.sees(row.id):
        raise not_found("customer", customer_id)
    return CustomerPublic(id=row.id, name=row.name)
