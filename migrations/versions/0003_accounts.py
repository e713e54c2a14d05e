"""accounts: sign-in throttle by account and address, who created a person, the process of a pending save

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("account_key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("signin_throttle") as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_throttle_account_key"), ["account_key"], unique=False)
    with op.batch_alter_table("signin_failures") as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_failures_at"))
        batch_op.drop_index(batch_op.f("ix_signin_failures_address"))
        batch_op.drop_index(batch_op.f("ix_signin_failures_account_key"))
    op.drop_table("signin_failures")
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_users_created_by", "users", ["created_by"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("process_id")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("fk_users_created_by", type_="foreignkey")
        batch_op.drop_column("created_by")
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signin_failures") as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_failures_account_key"), ["account_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_signin_failures_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_signin_failures_at"), ["at"], unique=False)
    with op.batch_alter_table("signin_throttle") as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_throttle_account_key"))
    op.drop_table("signin_throttle")
