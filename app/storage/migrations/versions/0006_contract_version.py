"""contract version

Bumped on every change, so a process can keep a parsed contract and know it is
current from one integer in a query it makes anyway.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 15:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_column('version')
