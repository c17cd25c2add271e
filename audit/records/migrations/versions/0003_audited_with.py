"""What each inspection was audited with: SHA-256 of the rules file, the detector model and the registry.

Nullable: inspections stored before this revision did not record them (and an inspection run on OCR alone has
no model).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("rules_sha256", "model_sha256", "registry_sha256")


def upgrade() -> None:
    # ADD COLUMN of a nullable column needs no table rebuild on SQLite (unlike dropping one).
    for name in COLUMNS:
        op.add_column("inspections", sa.Column(name, sa.String(64), nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops a column in place; a batch rebuild would drop the table the photos and plaques refer to.
    for name in reversed(COLUMNS):
        op.drop_column("inspections", name)
