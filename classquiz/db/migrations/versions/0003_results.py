"""results: finished games, their players and answers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "games",
        sa.Column("id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("quiz_id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("pin", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), autoincrement=False, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), autoincrement=False, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), autoincrement=False, nullable=False),
        sa.Column("question_count", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("players_count", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("questions", sa.JSON(none_as_null=True), autoincrement=False, nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), autoincrement=False, nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_games_users_id_owner", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    # The host's list of finished games: WHERE owner_id = ? ORDER BY finished_at DESC.
    op.create_index("ix_games_owner_finished", "games", ["owner_id", "finished_at"], unique=False)

    op.create_table(
        "game_players",
        sa.Column("id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("game_id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("nickname", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column("score", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("correct_count", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("answered_count", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=True),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name="fk_game_players_games_id_game", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_game_players_game_id"), "game_players", ["game_id"], unique=False)

    op.create_table(
        "game_answers",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("game_id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("player_id", sa.CHAR(36), autoincrement=False, nullable=False),
        sa.Column("question_index", sa.Integer(), autoincrement=False, nullable=False),
        # {"value": <answer>}, never a bare JSON scalar (see GameAnswer.answer).
        sa.Column("answer", sa.JSON(none_as_null=True), autoincrement=False, nullable=True),
        sa.Column("correct", sa.Boolean(), autoincrement=False, nullable=True),
        sa.Column("points", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("elapsed_ms", sa.Integer(), autoincrement=False, nullable=True),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name="fk_game_answers_games_id_game", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        # First answer wins: a player answers a question at most once.
        sa.UniqueConstraint("player_id", "question_index", name="uq_game_answers_player_q"),
    )
    op.create_index(op.f("ix_game_answers_game_id"), "game_answers", ["game_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_game_answers_game_id"), table_name="game_answers")
    op.drop_table("game_answers")
    op.drop_index(op.f("ix_game_players_game_id"), table_name="game_players")
    op.drop_table("game_players")
    op.drop_index("ix_games_owner_finished", table_name="games")
    op.drop_table("games")
