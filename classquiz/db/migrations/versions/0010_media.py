"""media: uploaded pictures

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

- `media`: one row per uploaded picture (owner, content type, extension, size in
  pixels and bytes). The bytes themselves are in the media storage (a folder or
  an S3 bucket) under `<id>.<extension>`; the row is what the per-account quota
  counts and what says who may delete the picture.

Rows go with their user (ON DELETE CASCADE). Downgrade drops the table (the
stored files stay where they are).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.CHAR(36), primary_key=True),
        sa.Column(
            "owner_id", sa.CHAR(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("extension", sa.String(8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_media_owner_id", "media", ["owner_id"])


def downgrade() -> None:
    op.drop_table("media")
