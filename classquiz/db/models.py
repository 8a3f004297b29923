"""Ormar models: the durable state (users, keys, quizzes, finished games).

Foreign keys are always assigned by id, never by passing a model instance:
Ormar can turn a related model's JSON fields into strings when an instance is
passed (see docs/architecture.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import ormar
import sqlalchemy

from classquiz.db.engine import database, metadata

base_config = ormar.OrmarConfig(metadata=metadata, database=database)


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(ormar.Model):
    ormar_config = base_config.copy(tablename="users")

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    email: str = ormar.String(max_length=254, unique=True, index=True)
    username: str = ormar.String(max_length=32, unique=True, index=True)
    password_hash: str = ormar.String(max_length=255)
    # Sealed with Fernet (classquiz/services/totp.py), never the plain secret (migration 0005).
    totp_secret: str | None = ormar.String(max_length=255, nullable=True, default=None)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    # Set when a verification link mailed to the current address was followed (0007).
    email_verified_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)
    # Copied into each access token; raising it ends every session at once (0007).
    session_generation: int = ormar.Integer(default=0)


class ApiKey(ormar.Model):
    """An API key; only a SHA-256 of the secret is kept (keys are high-entropy)."""

    ormar_config = base_config.copy(tablename="api_keys")

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    user: User = ormar.ForeignKey(
        User,
        name="user_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="api_keys",
        index=True,
    )
    name: str = ormar.String(max_length=100)
    prefix: str = ormar.String(max_length=16)
    key_hash: str = ormar.String(max_length=64, unique=True, index=True)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    last_used_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)
    scope: str = ormar.String(max_length=8, default="full")  # "read" | "full" (0007)
    expires_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)


class AccountToken(ormar.Model):
    """A single-use token sent by mail (password reset, e-mail verification).

    Only a SHA-256 of the token is kept (tokens are high-entropy), with the
    address it went to: a verification only counts for that address.
    """

    ormar_config = base_config.copy(tablename="account_tokens")

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    user: User = ormar.ForeignKey(
        User,
        name="user_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="account_tokens",
        index=True,
    )
    purpose: str = ormar.String(max_length=16)
    token_hash: str = ormar.String(max_length=64, unique=True)
    email: str = ormar.String(max_length=254)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    expires_at: datetime = ormar.DateTime(timezone=True)
    used_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)


class TotpBackupCode(ormar.Model):
    """A one-time backup code of the TOTP factor; only an HMAC of the code is kept."""

    ormar_config = base_config.copy(tablename="totp_backup_codes")

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    user: User = ormar.ForeignKey(
        User,
        name="user_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="totp_backup_codes",
        index=True,
    )
    code_hash: str = ormar.String(max_length=64, unique=True)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    used_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)


class Quiz(ormar.Model):
    ormar_config = base_config.copy(tablename="quizzes")

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    owner: User = ormar.ForeignKey(
        User,
        name="owner_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="quizzes",
        index=True,
    )
    title: str = ormar.String(max_length=200)
    description: str = ormar.Text(default="")
    public: bool = ormar.Boolean(default=False, index=True)
    language: str | None = ormar.String(max_length=16, nullable=True, default=None)
    tags: list[str] = ormar.JSON(default=list)
    questions: list[dict[str, Any]] = ormar.JSON(default=list)
    question_count: int = ormar.Integer(default=0)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    updated_at: datetime = ormar.DateTime(timezone=True, default=utcnow, index=True)


class OAuthIdentity(ormar.Model):
    """An account at a sign-in provider (Google, GitHub, an OpenID provider) linked to a
    user: the provider's stable subject, never the e-mail, says who signs in."""

    ormar_config = base_config.copy(
        tablename="oauth_identities",
        constraints=[ormar.UniqueColumns("provider", "subject", name="uq_oauth_provider_subject")],
    )

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    user: User = ormar.ForeignKey(
        User,
        name="user_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="oauth_identities",
        index=True,
    )
    provider: str = ormar.String(max_length=32)
    subject: str = ormar.String(max_length=255)
    email: str | None = ormar.String(max_length=254, nullable=True, default=None)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    last_used_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)


class Passkey(ormar.Model):
    """A WebAuthn credential of a user: its public key, never a secret."""

    ormar_config = base_config.copy(tablename="passkeys")

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    user: User = ormar.ForeignKey(
        User,
        name="user_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="passkeys",
        index=True,
    )
    # base64url of the credential id (at most 1023 bytes by WebAuthn Level 3).
    credential_id: str = ormar.String(max_length=1400, unique=True, index=True)
    public_key: str = ormar.Text()  # base64url of the COSE key
    sign_count: int = ormar.BigInteger(default=0)
    transports: list[str] = ormar.JSON(default=list)
    name: str = ormar.String(max_length=64)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    last_used_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)


class Media(ormar.Model):
    """An uploaded picture (services/media.py): the bytes are in the media storage under
    `<id>.<extension>`; this row says whose it is and counts towards their quota."""

    ormar_config = base_config.copy(tablename="media")

    id: uuid.UUID = ormar.UUID(primary_key=True, default=uuid.uuid4, uuid_format="string")
    owner: User = ormar.ForeignKey(
        User,
        name="owner_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="media",
        index=True,
    )
    content_type: str = ormar.String(max_length=32)
    extension: str = ormar.String(max_length=8)
    width: int = ormar.Integer()
    height: int = ormar.Integer()
    size_bytes: int = ormar.Integer()
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)


# ---------------------------------------------------------------- finished games
# Written once per game by ResultService (classquiz/services/results.py) with
# SQLAlchemy core bulk inserts on these tables; the primary key of `games` and
# the unique (player_id, question_index) key make a repeated write a no-op.


class Game(ormar.Model):
    """A finished game; `id` is the live game's `game_id`."""

    ormar_config = base_config.copy(
        tablename="games",
        # ormar annotates `constraints` with SQLAlchemy's class, but its own IndexColumns
        # (documented for exactly this list) derives from SQLAlchemy's Index instead.
        constraints=[
            ormar.IndexColumns(  # type: ignore[list-item]
                "owner_id", "finished_at", name="ix_games_owner_finished"
            )
            # Also (migration 0012, partial, so not declared here):
            # ix_games_finished_live on (finished_at) WHERE deleted_at IS NULL.
        ],
    )

    id: uuid.UUID = ormar.UUID(primary_key=True, uuid_format="string")
    # Not a foreign key: the quiz may be edited or deleted, the results stay.
    quiz_id: uuid.UUID = ormar.UUID(uuid_format="string")
    owner: User = ormar.ForeignKey(
        User,
        name="owner_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="games",
    )  # indexed together with finished_at (ix_games_owner_finished), which serves both
    pin: str = ormar.String(max_length=16)
    title: str = ormar.String(max_length=200)
    created_at: datetime = ormar.DateTime(timezone=True)
    started_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)
    finished_at: datetime = ormar.DateTime(timezone=True)
    question_count: int = ormar.Integer(default=0)
    players_count: int = ormar.Integer(default=0)
    questions: list[dict[str, Any]] = ormar.JSON(default=list)  # FinalQuestion dumps
    stored_at: datetime = ormar.DateTime(timezone=True, default=utcnow)
    # Set when the host deleted the results (0011): players and answers are gone and the
    # row is blanked, but it stays so that a late retry of the write cannot restore them.
    deleted_at: datetime | None = ormar.DateTime(timezone=True, nullable=True, default=None)


class GamePlayer(ormar.Model):
    """One player's final standing; `id` is the live `player_id`."""

    ormar_config = base_config.copy(tablename="game_players")

    id: uuid.UUID = ormar.UUID(primary_key=True, uuid_format="string")
    game: Game = ormar.ForeignKey(
        Game,
        name="game_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="players",
        index=True,
    )
    nickname: str = ormar.String(max_length=100)
    score: int = ormar.Integer(default=0)
    rank: int = ormar.Integer(default=0)
    correct_count: int = ormar.Integer(default=0)
    answered_count: int = ormar.Integer(default=0)
    status: str = ormar.String(max_length=16, default="active")


class GameAnswer(ormar.Model):
    """One answer; at most one per player and question (first answer wins)."""

    ormar_config = base_config.copy(
        tablename="game_answers",
        constraints=[
            ormar.UniqueColumns("player_id", "question_index", name="uq_game_answers_player_q")
        ],
    )

    id: int = ormar.BigInteger(primary_key=True, autoincrement=True)
    game: Game = ormar.ForeignKey(
        Game,
        name="game_id",
        ondelete="CASCADE",
        nullable=False,
        related_name="answers",
        index=True,
    )
    # Not a foreign key to game_players: an answer must never block storing a game.
    player_id: uuid.UUID = ormar.UUID(uuid_format="string")
    question_index: int = ormar.Integer()
    # Always {"value": <the answer>}: a bare JSON string ("Paris", or "42") would
    # be re-parsed by Ormar's JSON field on load and fail or change type.
    answer: dict[str, Any] = ormar.JSON(default=dict)
    correct: bool | None = ormar.Boolean(nullable=True, default=None)
    points: int = ormar.Integer(default=0)
    elapsed_ms: int = ormar.Integer(default=0)


ALL_TABLES: list[sqlalchemy.Table] = [
    m.ormar_config.table
    for m in (
        User,
        ApiKey,
        AccountToken,
        TotpBackupCode,
        OAuthIdentity,
        Passkey,
        Media,
        Quiz,
        Game,
        GamePlayer,
        GameAnswer,
    )
]
