"""unrouted alerts

Alerts that name no known contract, kept and listed (issue 19); the operator's
ticket about them has no contract, so a ticket's contract and customer may be empty.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 04:30:00
"""
import sqlalchemy as sa
from alembic import op

from app.storage.types import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unrouted_alerts',
        sa.Column('id', sa.String(length=100), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('contract_label', sa.String(length=200), nullable=True),
        sa.Column('alertname', sa.String(length=200), nullable=True),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('first_seen', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen', UTCDateTime(timezone=True), nullable=False),
        sa.Column('times', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_unrouted_alerts_last_seen', 'unrouted_alerts', ['last_seen'])
    with op.batch_alter_table('tickets') as t:  # SQLite: the table is copied (a few thousand rows)
        t.alter_column('contract_id', existing_type=sa.String(length=64), nullable=True)
        t.alter_column('customer_id', existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('tickets') as t:
        t.alter_column('customer_id', existing_type=sa.String(length=64), nullable=False)
        t.alter_column('contract_id', existing_type=sa.String(length=64), nullable=False)
    op.drop_index('ix_unrouted_alerts_last_seen', 'unrouted_alerts')
    op.drop_table('unrouted_alerts')
