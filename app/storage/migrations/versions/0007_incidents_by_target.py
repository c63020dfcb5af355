"""incidents by target

Detection asks for a target's newest probe incident after every batch: an
index on (target_id, started_at) answers it without reading the others.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:10:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_incidents_target_started', 'incidents', ['target_id', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_incidents_target_started', table_name='incidents')
