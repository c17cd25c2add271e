"""Re-audits: the current engine's result for a stored inspection's photos, kept beside the inspection (whose model
report and inspectors' reviews stay as they were).

One row per (inspection, model, rules): the unique key makes a re-audit idempotent — a rerun, or a task run twice
after its worker died, adds nothing. ``model_sha256`` is '' when the engine ran on OCR alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "machine_results",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id"), nullable=False, index=True),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("rules_sha256", sa.String(64), nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False, index=True),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("inspection_id", "model_sha256", "rules_sha256", name="uq_machine_results_inspection_hashes"),
    )


def downgrade() -> None:
    op.drop_table("machine_results")
