"""result roll-ups

Raw probe results are kept for the retention (SLAWATCH_RESULTS_RETENTION, 35
days by default); older ones are rolled up per target, location and minute into
``probe_rollups`` and deleted in small batches. An index on ``started_at``
finds the oldest without reading the rest.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 22:00:00
"""
import sqlalchemy as sa
from alembic import op

from app.storage.types import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'probe_rollups',
        sa.Column('target_id', sa.String(length=64), nullable=False),
        sa.Column('location', sa.String(length=64), nullable=False),
        sa.Column('minute', UTCDateTime(timezone=True), nullable=False),
        sa.Column('probes', sa.Integer(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('duration_sum', sa.Float(), nullable=False),
        sa.Column('duration_max', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('target_id', 'location', 'minute'),
    )
    op.create_index('ix_probe_results_started', 'probe_results', ['started_at'])


def downgrade() -> None:
    op.drop_index('ix_probe_results_started', table_name='probe_results')
    op.drop_table('probe_rollups')
