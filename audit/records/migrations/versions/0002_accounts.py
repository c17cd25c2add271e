"""Accounts: users (role, townships, bcrypt hash, lock-out state) and the sign-in log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("townships", sa.Text, nullable=False),
        sa.Column("password_hash", sa.String(60), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime),
        sa.Column("last_sign_in_at", sa.DateTime),
        sa.Column("password_changed_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("role IN ('inspector', 'planner', 'admin')", name="ck_users_role"),
        sa.CheckConstraint("failed_attempts >= 0", name="ck_users_failed_attempts"),
    )
    op.create_table(
        "sign_in_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64)),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
    )
    op.create_index("ix_sign_in_log_username", "sign_in_log", ["username"])
    op.create_index("ix_sign_in_log_at", "sign_in_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_log_at", table_name="sign_in_log")
    op.drop_index("ix_sign_in_log_username", table_name="sign_in_log")
    op.drop_table("sign_in_log")
    op.drop_table("users")
