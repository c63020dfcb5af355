"""token life

Tokens expire (``--expires 90d``) and show when they were last used, so an
operator can list, expire and revoke them without SQL.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:40:00
"""
import sqlalchemy as sa
from alembic import op

from app.storage.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
