"""Counties in the data model: a registry may hold several counties (a prefecture-level city's).

``inspections.county``: the registry's county of the inspected village (NULL in older rows and where the registry
names none). ``users.counties``: a JSON list of the counties an account is limited to; ``[]`` (every existing
account) is the whole registry — the city administrator, or a one-county deployment's administrator as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN needs no table rebuild on SQLite; the server default fills the existing accounts with [].
    op.add_column("inspections", sa.Column("county", sa.String(200), nullable=True))
    op.create_index("ix_inspections_county", "inspections", ["county"])
    op.add_column("users", sa.Column("counties", sa.Text, nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("users", "counties")
    op.drop_index("ix_inspections_county", table_name="inspections")
    op.drop_column("inspections", "county")
