"""Alembic environment: migrations run over a synchronous psycopg2 connection.

A PostgreSQL advisory lock serialises concurrent `migrate` runs (several
workers starting at once), so the upgrade is applied exactly once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from classquiz.db.engine import metadata

MIGRATION_LOCK_ID = 7_141_592_653

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # set by classquiz.db.migrate from DATABASE_URL
        raise RuntimeError("the migration environment needs sqlalchemy.url")
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=metadata, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `python -m classquiz migrate`")
run_migrations_online()
