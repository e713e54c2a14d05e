"""releases: who is approving a release in progress (host, process, its start, a lease), so that recovery resets
only an approval whose approver is gone

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approving_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('approving_process', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approving_started', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('approving_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('approving_until')
        batch_op.drop_column('approving_started')
        batch_op.drop_column('approving_process')
        batch_op.drop_column('approving_host')
