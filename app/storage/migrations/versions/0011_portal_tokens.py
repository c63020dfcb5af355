"""portal tokens

The web portal's secrets (one-time sign-in links, browser sessions with their
CSRF token, customers' private feed URLs, read-only contract links in tickets, one-tap acknowledge links),
kept as SHA-256 only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 01:00:00
"""
import sqlalchemy as sa
from alembic import op

from app.storage.types import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'portal_tokens',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('contract_id', sa.String(length=64), nullable=True),
        sa.Column('incident_id', sa.String(length=200), nullable=True),
        sa.Column('person_id', sa.String(length=64), nullable=True),
        sa.Column('csrf', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('token_hash'),
    )


def downgrade() -> None:
    op.drop_table('portal_tokens')
