"""releases: the release gate as measured at request and at approval, and an override's reason; shadows: candidate
versions answering live predictions beside the release (issue 17)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gate', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('gate_override', sa.Text(), nullable=True))
    op.create_table('shadows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ruleset', sa.String(length=80), nullable=False),
    sa.Column('candidate', sa.String(length=40), nullable=False),
    sa.Column('follow', sa.Boolean(), nullable=False),
    sa.Column('released', sa.String(length=40), nullable=False),
    sa.Column('release_name', sa.String(length=20), nullable=False),
    sa.Column('keep_values', sa.Boolean(), nullable=False),
    sa.Column('started_by', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('different', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('dropped', sa.Integer(), nullable=False),
    sa.Column('restarts', sa.Integer(), nullable=False),
    sa.Column('by_rule', sa.JSON(), nullable=False),
    sa.Column('sample', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('shadows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shadows_ruleset'), ['ruleset'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shadows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shadows_ruleset'))
    op.drop_table('shadows')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('gate_override')
        batch_op.drop_column('gate')
