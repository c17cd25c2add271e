"""One stored inspection per check: a submission token, unique, made when the engine's result is produced.

A second click on 保存, a resent form or a second app process submitting the same check finds the row its token
names instead of storing the inspection twice. Nullable: older rows and the command line's submissions have none
(a unique index allows any number of NULLs on SQLite and PostgreSQL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "ix_inspections_submission_token"


def upgrade() -> None:
    op.add_column("inspections", sa.Column("submission_token", sa.String(64), nullable=True))
    op.create_index(INDEX, "inspections", ["submission_token"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="inspections")
    op.drop_column("inspections", "submission_token")
