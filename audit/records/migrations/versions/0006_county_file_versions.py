"""Versions of the county's files: every registry, rules file and township boundary layer an administrator made
current — uploaded (after a preview and a confirmation), restored from an earlier version, or reset to the
default — with who, when, the file's SHA-256 and a JSON summary of its counts and differences. The files stay in
the county directory (``audit/records/county_data.py``), so that any earlier version can be made current again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "county_file_versions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("file", sa.String(200)),
        sa.Column("name", sa.String(500)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("size", sa.Integer),
        sa.Column("crs", sa.String(16)),
        sa.Column("restored_from", sa.String(32)),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("made_by", sa.String(64), nullable=False),
        sa.Column("made_by_name", sa.String(200), nullable=False),
        sa.Column("made_at", sa.DateTime, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("county_file_versions")
