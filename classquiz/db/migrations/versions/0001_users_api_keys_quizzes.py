"""users api keys quizzes

Revision ID: 0001
Revises:
Create Date: 2026-11-22
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
        "users",
        sa.Column("id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(length=254), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("password_hash", sa.String(length=255), autoincrement=False, nullable=False),
        sa.Column("totp_secret", sa.String(length=64), autoincrement=False, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)
    op.create_index(op.f("ix_users_username"), "users", ["username"], unique=True)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column("prefix", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("key_hash", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), autoincrement=False, nullable=True),
        sa.Column(
            "last_used_at",
            sa.DateTime(timezone=True),
            autoincrement=False,
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_api_keys_users_id_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_api_keys_key_hash"), "api_keys", ["key_hash"], unique=True)
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    op.create_table(
        "quizzes",
        sa.Column("id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), autoincrement=False, nullable=False),
        sa.Column("description", sa.Text(), autoincrement=False, nullable=True),
        sa.Column("public", sa.Boolean(), autoincrement=False, nullable=True),
        sa.Column("language", sa.String(length=16), autoincrement=False, nullable=True),
        sa.Column("tags", sa.JSON(none_as_null=True), autoincrement=False, nullable=True),
        sa.Column("questions", sa.JSON(none_as_null=True), autoincrement=False, nullable=True),
        sa.Column("question_count", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), autoincrement=False, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), autoincrement=False, nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name="fk_quizzes_users_id_owner",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_quizzes_owner_id"), "quizzes", ["owner_id"], unique=False)
    op.create_index(op.f("ix_quizzes_public"), "quizzes", ["public"], unique=False)
    op.create_index(op.f("ix_quizzes_updated_at"), "quizzes", ["updated_at"], unique=False)


def downgrade() -> None:

    op.drop_index(op.f("ix_quizzes_updated_at"), table_name="quizzes")
    op.drop_index(op.f("ix_quizzes_public"), table_name="quizzes")
    op.drop_index(op.f("ix_quizzes_owner_id"), table_name="quizzes")
    op.drop_table("quizzes")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_key_hash"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_users_username"), table_name="users")
    op.drop_index(op.f("ix_users_email"), table_name="users")
    op.drop_table("users")
