"""The one database connection the Ormar models are bound to.

Ormar binds models to a connection object when their classes are defined, but
the URL is only known once the settings are resolved (possibly after starting an
embedded PostgreSQL). So the models share a `DatabaseConnection` created with a
placeholder URL, and `connect_database` points it at the real one before use.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
from ormar.databases.connection import DatabaseConnection

from classquiz.library_seam import point_database_at

metadata = sqlalchemy.MetaData()
database = DatabaseConnection("postgresql+asyncpg://unconfigured/unconfigured")


async def connect_database(asyncpg_url: str, *, pool_size: int = 10) -> DatabaseConnection:
    """Point the shared connection at `asyncpg_url` and open its pool."""
    if database.is_connected:
        await database.disconnect()
    # hide_parameters: errors name the SQL but not the values bound to it: those
    # can be password hashes, tokens or whatever a user typed, and errors end up in logs.
    point_database_at(
        database, asyncpg_url, pool_size=pool_size, pool_pre_ping=True, hide_parameters=True
    )
    await database.connect()
    return database


async def disconnect_database() -> None:
    if database.is_connected:
        await database.disconnect()


async def database_is_ready() -> bool:
    """True when a trivial query succeeds (used by /readyz)."""
    try:
        async with database.connection() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        return False


async def write(statement: sqlalchemy.Executable) -> list[sqlalchemy.Row[Any]]:
    """Run one writing statement (core SQL) in its own transaction; the rows it
    returned (with RETURNING), else []. Ormar covers simple writes; this serves
    conditional updates that must be one statement to be safe under races."""
    async with database.transaction():
        conn = database.get_transaction_connection()
        assert conn is not None
        result = await conn.execute(statement)
        return list(result.all()) if result.returns_rows else []
