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


def test_migration_0007_goes_down_and_up_again(empty_database: str) -> None:
    """0007 (account tokens, session generations, key scopes) can be undone and redone;
    keys made before it keep working as full keys without an expiry."""
    from alembic import command

    url = empty_database
    upgrade_database(url, "0006")
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO users (id, email, username, password_hash) "
                "VALUES ('00000000-0000-0000-0000-000000000001', 'a@example.org', 'a', 'x')"
            )
            cur.execute(
                "INSERT INTO api_keys (id, user_id, name, prefix, key_hash) VALUES "
                "('00000000-0000-0000-0000-000000000002', "
                "'00000000-0000-0000-0000-000000000001', 'old', 'cqk_old', 'h')"
            )
        upgrade_database(url, "0007")
        assert "account_tokens" in public_tables(url)
        assert {"scope", "expires_at"} <= columns(url, "api_keys")
        assert {"session_generation", "email_verified_at"} <= columns(url, "users")
        with conn.cursor() as cur:
            cur.execute("SELECT scope, expires_at FROM api_keys")
            assert cur.fetchall() == [("full", None)]
            cur.execute("SELECT session_generation, email_verified_at FROM users")
            assert cur.fetchall() == [(0, None)]
        command.downgrade(alembic_config(url), "0006")
        assert "account_tokens" not in public_tables(url)
        assert "scope" not in columns(url, "api_keys")
        assert "session_generation" not in columns(url, "users")
        upgrade_database(url, "0007")
        assert "account_tokens" in public_tables(url)
    finally:
        conn.close()
