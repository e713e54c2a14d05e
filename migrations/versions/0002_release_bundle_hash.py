"""releases: the content hash of the release's bundle, recorded at approval

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 03:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bundle_hash', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('bundle_hash')
