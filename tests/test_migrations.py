"""The Alembic migrations build the schema on an empty database, and are idempotent."""

from __future__ import annotations

import psycopg2
from alembic.script import ScriptDirectory

from classquiz.db.migrate import alembic_config, current_revision, upgrade_database
from classquiz.db.models import ALL_TABLES

FOUNDATION_TABLES = {"users", "api_keys", "quizzes", "account_tokens"}


def public_tables(url: str) -> set[str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def columns(url: str, table: str) -> set[str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = %s",
                (table,),
            )
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def test_upgrade_on_empty_database_is_idempotent(empty_database: str) -> None:
    url = empty_database
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None

    assert current_revision(url) is None
    assert public_tables(url) == set()

    upgrade_database(url)
    assert current_revision(url) == head
    tables = public_tables(url)
    assert FOUNDATION_TABLES | {"alembic_version"} <= tables

    upgrade_database(url)  # a second run changes nothing
    assert current_revision(url) == head
    assert public_tables(url) == tables


def test_migrated_schema_matches_the_models(empty_database: str) -> None:
    """Every column the foundation models use exists after migrating (no drift)."""
    upgrade_database(empty_database)
    tables = public_tables(empty_database)
    by_name = {table.name: table for table in ALL_TABLES}
    for name in FOUNDATION_TABLES:
        assert name in tables
        table = by_name[name]
        expected = {column.name for column in table.columns}
        assert expected <= columns(empty_database, table.name), table.name


def test_the_test_database_is_at_head(storage: dict[str, str]) -> None:
    url = storage["database_url"]
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert current_revision(url) == head
