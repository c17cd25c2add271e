"""Sign-ins that survive a reload, and unsaved checks kept for their inspector.

``sessions``: one row per sign-in, found by the SHA-256 of the token the browser holds in its cookie (the token
itself is never stored); revoked on sign-out, on expiry (absolute and idle) and when the account is disabled,
its password changed, or its role or townships changed since the sign-in (the row keeps what they were).

``drafts`` and ``draft_photos``: a check not yet saved — the engine's report, the corrections so far, the
submission token and what it was audited with — and its photos' bytes (kept here, not among the inspection
photos, so that deleting a draft deletes its photos and their GPS positions with it). One draft per inspector
and village; deleted when saved or discarded, or after it expires.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("townships", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
        sa.Column("revoked_at", sa.DateTime),
        sa.Column("revoked_reason", sa.String(32)),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("village_code", sa.String(64), nullable=False),
        sa.Column("village_name", sa.String(200), nullable=False),
        sa.Column("township", sa.String(200)),
        sa.Column("submission_token", sa.String(64), nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("audited_with", sa.Text, nullable=False),
        sa.Column("made_with", sa.String(400), nullable=False),
        sa.Column("corrections", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
        sa.UniqueConstraint("username", "village_code", name="uq_drafts_username_village"),
    )
    op.create_table(
        "draft_photos",
        sa.Column("draft_id", sa.String(32), sa.ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("draft_photos")
    op.drop_table("drafts")
    op.drop_table("sessions")
