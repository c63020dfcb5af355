"""maintenance windows

Planned maintenance as announced to the customer (issue 19): per contract,
target or customer, one-off or recurring (RRULE), with when and how it was announced.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 04:00:00
"""
import sqlalchemy as sa
from alembic import op

from app.storage.types import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'maintenance_windows',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('contract_id', sa.String(length=64), nullable=True),
        sa.Column('target_id', sa.String(length=64), nullable=True),
        sa.Column('customer_id', sa.String(length=64), nullable=True),
        sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('rrule', sa.String(length=500), nullable=True),
        sa.Column('announced_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('channel', sa.String(length=64), nullable=True),
        sa.Column('note', sa.String(length=2000), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_maintenance_windows_contract_id', 'maintenance_windows', ['contract_id'])
    op.create_index('ix_maintenance_windows_customer_id', 'maintenance_windows', ['customer_id'])


def downgrade() -> None:
    op.drop_index('ix_maintenance_windows_customer_id', 'maintenance_windows')
    op.drop_index('ix_maintenance_windows_contract_id', 'maintenance_windows')
    op.drop_table('maintenance_windows')
