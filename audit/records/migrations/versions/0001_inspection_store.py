"""The inspection store: rounds, inspections, photos by content hash, reviewed plaques, review log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("end_date >= start_date", name="ck_rounds_dates"),
    )
    op.create_table(
        "photos",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("ext", sa.String(8), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("village_code", sa.String(64)),
        sa.Column("village_name", sa.String(200)),
        sa.Column("township", sa.String(200)),
        sa.Column("inspector", sa.String(200), nullable=False),
        sa.Column("inspected_at", sa.DateTime, nullable=False),
        sa.Column("round_id", sa.String(32), sa.ForeignKey("rounds.id", name="fk_inspections_round")),
        sa.Column("model_report", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("rules_version", sa.String(64)),
        sa.Column("reviewed_at", sa.DateTime),
        sa.Column("reviewed_by", sa.String(200)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_inspections_village_code", "inspections", ["village_code"])
    op.create_index("ix_inspections_inspected_at", "inspections", ["inspected_at"])
    op.create_index("ix_inspections_round_id", "inspections", ["round_id"])
    op.create_table(
        "inspection_photos",
        sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id", name="fk_inspection_photos_inspection"),
                  primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("photos.sha256", name="fk_inspection_photos_photo"),
                  nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
    )
    op.create_table(
        "plaques",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("inspection_id", sa.String(32), nullable=False),
        sa.Column("photo_idx", sa.Integer, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("model_idx", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["inspection_id", "photo_idx"], ["inspection_photos.inspection_id", "inspection_photos.idx"],
                                name="fk_plaques_photo"),
    )
    op.create_index("ix_plaques_inspection_id", "plaques", ["inspection_id"])
    op.create_table(
        "review_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id", name="fk_review_log_inspection"),
                  nullable=False),
        sa.Column("plaque_id", sa.Integer, sa.ForeignKey("plaques.id", name="fk_review_log_plaque"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
    )
    op.create_index("ix_review_log_inspection_id", "review_log", ["inspection_id"])


def downgrade() -> None:
    for index, table in (("ix_review_log_inspection_id", "review_log"), ("ix_plaques_inspection_id", "plaques")):
        op.drop_index(index, table_name=table)
    op.drop_table("review_log")
    op.drop_table("plaques")
    op.drop_table("inspection_photos")
    for index in ("ix_inspections_round_id", "ix_inspections_inspected_at", "ix_inspections_village_code"):
        op.drop_index(index, table_name="inspections")
    op.drop_table("inspections")
    op.drop_table("photos")
    op.drop_table("rounds")
