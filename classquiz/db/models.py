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
    totp_secret: str | None = ormar.String(max_length=64, nullable=True, default=None)
    created_at: datetime = ormar.DateTime(timezone=True, default=utcnow)


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


ALL_TABLES: list[sqlalchemy.Table] = [m.ormar_config.table for m in (User, ApiKey, Quiz)]
