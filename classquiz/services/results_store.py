"""The SQL side of results: one idempotent write per finished game, and the reads.

Everything goes through SQLAlchemy core on the Ormar tables rather than through
Ormar querysets, for two reasons: a 2,000 x 20 game is 40,000 answer rows, which
only a bulk insert stores in about a second; and Ormar may hand JSON columns
back as strings (after `select_related`, or when a model instance is passed as
a foreign key), while the core JSON type always decodes them. The connection is
a parameter so a test can point one service at an unreachable database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeAlias, overload

import orjson
import sqlalchemy as sa
from ormar.databases.connection import DatabaseConnection
from prometheus_client import Counter
from sqlalchemy.dialects.postgresql import insert as pg_insert

from classquiz.db.models import Game, GameAnswer, GamePlayer, User, utcnow
from classquiz.game.final import FinishedGame

log = logging.getLogger(__name__)

RESULTS_DROPPED = Counter(
    "classquiz_results_dropped_total",
    "Finished games not stored because their host's account was deleted",
)

USERS: sa.Table = User.ormar_config.table
GAMES: sa.Table = Game.ormar_config.table
PLAYERS: sa.Table = GamePlayer.ormar_config.table
ANSWERS: sa.Table = GameAnswer.ormar_config.table

# Rows per INSERT statement: bounds the size of one message sent to PostgreSQL.
BATCH = 10_000


def is_unreachable(exc: BaseException) -> bool:
    """True for errors meaning "the database is not there right now" (worth a retry)."""
    if isinstance(exc, OSError | asyncio.TimeoutError | sa.exc.DisconnectionError):
        return True
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, AssertionError) and "not connected" in str(exc)


# A result row of any width: SQLAlchemy types Row by the tuple of its column types
# (`Row[int, str]`); these queries are built at runtime, so each column is Any.
DbRow: TypeAlias = sa.Row[*tuple[Any, ...]]


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """Instants are stored as UTC; a naive one from the engine is taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def game_row(final: FinishedGame) -> dict[str, Any]:
    return {
        "id": final.game_id,
        "quiz_id": final.quiz_id,
        "owner_id": final.owner_id,
        "pin": final.pin,
        "title": final.title,
        "created_at": aware(final.created_at),
        "started_at": aware(final.started_at),
        "finished_at": aware(final.finished_at),
        "question_count": final.question_count,
        "players_count": len(final.players),
        "questions": [q.model_dump(mode="json") for q in final.questions],
        "stored_at": utcnow(),
    }


def player_columns(final: FinishedGame) -> dict[str, list[Any]]:
    """The players as one list per column (see `write_game` for why columns)."""
    ps = final.players
    return {
        "ids": [str(p.player_id) for p in ps],
        "nicknames": [p.nickname for p in ps],
        "scores": [p.score for p in ps],
        "ranks": [p.rank for p in ps],
        "corrects": [p.correct_count for p in ps],
        "answereds": [p.answered_count for p in ps],
        "statuses": [p.status for p in ps],
    }


def answer_columns(final: FinishedGame) -> dict[str, list[Any]]:
    answers = final.answers
    return {
        "player_ids": [str(a.player_id) for a in answers],
        "indexes": [a.question_index for a in answers],
        # Always wrapped, see GameAnswer.answer.
        "answers": [orjson.dumps({"value": a.answer}).decode() for a in answers],
        "corrects": [a.correct for a in answers],
        "points": [a.points for a in answers],
        "elapsed": [a.elapsed_ms for a in answers],
    }


# One statement per batch: PostgreSQL unpacks the column arrays itself. This is
# several times faster than an executemany of one row per answer.
INSERT_PLAYERS = sa.text(
    """
    INSERT INTO game_players
        (id, game_id, nickname, score, rank, correct_count, answered_count, status)
    SELECT u.id, CAST(:game_id AS text), u.nickname, u.score, u.rank, u.correct_count,
           u.answered_count, u.status
    FROM unnest(CAST(:ids AS text[]), CAST(:nicknames AS text[]), CAST(:scores AS int[]),
                CAST(:ranks AS int[]), CAST(:corrects AS int[]), CAST(:answereds AS int[]),
                CAST(:statuses AS text[]))
         AS u(id, nickname, score, rank, correct_count, answered_count, status)
    ON CONFLICT DO NOTHING
    """
)
INSERT_ANSWERS = sa.text(
    """
    INSERT INTO game_answers
        (game_id, player_id, question_index, answer, correct, points, elapsed_ms)
    SELECT CAST(:game_id AS text), u.player_id, u.question_index, CAST(u.answer AS json),
           u.correct, u.points, u.elapsed_ms
    FROM unnest(CAST(:player_ids AS text[]), CAST(:indexes AS int[]), CAST(:answers AS text[]),
                CAST(:corrects AS boolean[]), CAST(:points AS int[]), CAST(:elapsed AS int[]))
         AS u(player_id, question_index, answer, correct, points, elapsed_ms)
    ON CONFLICT DO NOTHING
    """
)


def batches(columns: dict[str, list[Any]], size: int) -> list[dict[str, list[Any]]]:
    total = len(next(iter(columns.values()), []))
    return [
        {name: values[start : start + size] for name, values in columns.items()}
        for start in range(0, total, size)
    ]


async def write_game(db: DatabaseConnection, final: FinishedGame) -> bool:
    """Store `final` in one transaction; False (and no change) if it is stored already,
    or if its host's account is gone.

    The host's account row is read first, with a key-share lock: an account
    deletion running meanwhile waits for this write and then takes its rows along,
    and a game that finishes after its host deleted the account (a game ended by
    the deletion, or one created a moment before it) is dropped here, not kept as
    a write the database will always refuse: its host asked for their data to go.
    The game row goes next with ON CONFLICT DO NOTHING: a second writer (a
    retry, another process) blocks on the primary key until the first commits,
    then inserts nothing and stops. A game whose results the host deleted keeps
    its row for this reason (`delete_game`). Players and answers also skip conflicts, so
    a duplicated answer in a snapshot (first one wins) cannot make the whole
    game unstorable.
    """
    game_id = str(final.game_id)
    players = batches(player_columns(final), BATCH)
    answers = batches(answer_columns(final), BATCH)
    async with db.transaction():
        async with db.connection() as conn:
            host = await conn.execute(
                sa.select(USERS.c.id)
                .where(USERS.c.id == final.owner_id)
                .with_for_update(key_share=True)
            )
            if host.first() is None:
                log.warning("game %s not stored: its host's account is gone (deleted)", game_id)
                RESULTS_DROPPED.inc()
                return False
            inserted = await conn.execute(
                pg_insert(GAMES)
                .values(game_row(final))
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(GAMES.c.id)
            )
            if inserted.first() is None:
                return False
            for batch in players:
                await conn.execute(INSERT_PLAYERS, {"game_id": game_id, **batch})
            for batch in answers:
                await conn.execute(INSERT_ANSWERS, {"game_id": game_id, **batch})
    return True


def answer_value(stored: Any) -> Any:
    """The answer as given, out of its stored `{"value": ...}` wrapper."""
    return stored.get("value") if isinstance(stored, dict) else stored


async def fetch_all(db: DatabaseConnection, query: sa.Executable) -> list[DbRow]:
    async with db.connection() as conn:
        return list((await conn.execute(query)).all())


async def fetch_game(db: DatabaseConnection, game_id: uuid.UUID) -> DbRow | None:
    """The stored game, or None when it is not stored (yet) or its results were deleted."""
    rows = await fetch_all(
        db, sa.select(GAMES).where(GAMES.c.id == game_id, GAMES.c.deleted_at.is_(None))
    )
    return rows[0] if rows else None


async def is_stored(db: DatabaseConnection, game_id: uuid.UUID) -> bool:
    """Whether the game is stored and not deleted (one indexed look-up, no JSON)."""
    rows = await fetch_all(
        db, sa.select(GAMES.c.id).where(GAMES.c.id == game_id, GAMES.c.deleted_at.is_(None))
    )
    return bool(rows)


async def delete_game(db: DatabaseConnection, game_id: uuid.UUID, owner_id: uuid.UUID) -> bool:
    """Delete a stored game's results for its owner; False if there is no such game of
    theirs (or it is deleted already).

    The players and answers go; the game row stays, blanked and marked `deleted_at`,
    as a tombstone: the write above skips any game whose row exists, so a snapshot
    still parked in Redis, or a retry in flight, can never bring the results back.
    The UPDATE takes the row's lock first, so two deletions of one game cannot both win.
    """
    async with db.transaction():
        async with db.connection() as conn:
            marked = await conn.execute(
                sa.update(GAMES)
                .where(
                    GAMES.c.id == game_id,
                    GAMES.c.owner_id == owner_id,
                    GAMES.c.deleted_at.is_(None),
                )
                .values(
                    deleted_at=utcnow(),
                    title="",
                    pin="",
                    questions=[],
                    players_count=0,
                    question_count=0,
                )
                .returning(GAMES.c.id)
            )
            if marked.first() is None:
                return False
            await conn.execute(sa.delete(ANSWERS).where(ANSWERS.c.game_id == game_id))
            await conn.execute(sa.delete(PLAYERS).where(PLAYERS.c.game_id == game_id))
    return True


async def games_finished_before(
    db: DatabaseConnection, cutoff: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(game id, host id) of stored games that finished before `cutoff`, oldest first."""
    query = (
        sa.select(GAMES.c.id, GAMES.c.owner_id)
        .where(GAMES.c.deleted_at.is_(None), GAMES.c.finished_at < cutoff)
        .order_by(GAMES.c.finished_at)
        .limit(limit)
    )
    rows = await fetch_all(db, query)
    return [(uuid.UUID(str(game_id)), uuid.UUID(str(host_id))) for game_id, host_id in rows]


async def list_games(
    db: DatabaseConnection, owner_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[DbRow], int]:
    """The owner's stored games, newest finish first, and how many there are."""
    where = sa.and_(GAMES.c.owner_id == owner_id, GAMES.c.deleted_at.is_(None))
    total_rows = await fetch_all(db, sa.select(sa.func.count()).select_from(GAMES).where(where))
    columns = [c for c in GAMES.c if c.name != "questions"]
    rows = await fetch_all(
        db,
        sa.select(*columns)
        .where(where)
        .order_by(GAMES.c.finished_at.desc(), GAMES.c.id)
        .limit(limit)
        .offset(offset),
    )
    return rows, int(total_rows[0][0])


async def game_players(db: DatabaseConnection, game_id: uuid.UUID) -> list[DbRow]:
    """Players by rank; equal ranks by nickname, so the order is stable."""
    return await fetch_all(
        db,
        sa.select(PLAYERS)
        .where(PLAYERS.c.game_id == game_id)
        .order_by(PLAYERS.c.rank, PLAYERS.c.nickname, PLAYERS.c.id),
    )


async def game_players_page(
    db: DatabaseConnection, game_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[DbRow], int]:
    """One page of `game_players`' order, and how many players the game has."""
    where = PLAYERS.c.game_id == game_id
    total = await fetch_all(db, sa.select(sa.func.count()).select_from(PLAYERS).where(where))
    rows = await fetch_all(
        db,
        sa.select(PLAYERS)
        .where(where)
        .order_by(PLAYERS.c.rank, PLAYERS.c.nickname, PLAYERS.c.id)
        .limit(limit)
        .offset(offset),
    )
    return rows, int(total[0][0])


async def answers_of_players(
    db: DatabaseConnection, game_id: uuid.UUID, player_ids: list[Any]
) -> list[DbRow]:
    """Every answer of these players in the game, by question."""
    if not player_ids:
        return []
    return await fetch_all(
        db,
        sa.select(ANSWERS)
        .where(ANSWERS.c.game_id == game_id, ANSWERS.c.player_id.in_(player_ids))
        .order_by(ANSWERS.c.player_id, ANSWERS.c.question_index),
    )


async def mean_elapsed_ms(db: DatabaseConnection, game_id: uuid.UUID) -> int | None:
    """Mean elapsed time of every answer of the game, rounded half up; None without any."""
    rows = await fetch_all(
        db, sa.select(sa.func.avg(ANSWERS.c.elapsed_ms)).where(ANSWERS.c.game_id == game_id)
    )
    mean = rows[0][0] if rows else None
    return None if mean is None else _half_up(mean)


def _half_up(mean: Any) -> int:
    return int(Decimal(mean).quantize(0, rounding=ROUND_HALF_UP))


async def game_answers(
    db: DatabaseConnection, game_id: uuid.UUID, player_id: uuid.UUID | None = None
) -> list[DbRow]:
    query = sa.select(ANSWERS).where(ANSWERS.c.game_id == game_id)
    if player_id is not None:
        query = query.where(ANSWERS.c.player_id == player_id)
    return await fetch_all(db, query.order_by(ANSWERS.c.question_index, ANSWERS.c.id))


async def question_aggregates(
    db: DatabaseConnection, game_id: uuid.UUID
) -> dict[int, tuple[int, int, int | None]]:
    """question index -> (answered, correct, mean elapsed ms rounded half up)."""
    rows = await fetch_all(
        db,
        sa.select(
            ANSWERS.c.question_index,
            sa.func.count(),
            sa.func.count().filter(ANSWERS.c.correct.is_(True)),
            sa.func.avg(ANSWERS.c.elapsed_ms),
        )
        .where(ANSWERS.c.game_id == game_id)
        .group_by(ANSWERS.c.question_index),
    )
    out: dict[int, tuple[int, int, int | None]] = {}
    for index, answered, correct, mean in rows:
        avg = None if mean is None else _half_up(mean)
        out[int(index)] = (int(answered), int(correct), avg)
    return out


async def find_player(
    db: DatabaseConnection, game_id: uuid.UUID, player_id: uuid.UUID
) -> DbRow | None:
    rows = await fetch_all(
        db,
        sa.select(PLAYERS).where(PLAYERS.c.id == player_id, PLAYERS.c.game_id == game_id),
    )
    return rows[0] if rows else None
