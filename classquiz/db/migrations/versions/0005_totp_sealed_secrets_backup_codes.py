"""totp: sealed secrets and one-time backup codes (audit 9.9)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

- `users.totp_secret` grows to 255 characters: it now holds a Fernet token
  (`fernet:…`, ~150 characters) instead of the 32-character plain secret.
- Every plain secret still in the table is sealed with the key derived from
  SECRET_KEY (classquiz/services/totp.py). Run the migration with the same
  SECRET_KEY the server uses (`python -m classquiz migrate` and `serve` both
  read it from the environment). Only values without the `fernet:` prefix are
  touched, so running it again changes nothing.
- `totp_backup_codes`: an HMAC per one-time code, and when it was used.

Downgrade opens the sealed secrets again (with the same SECRET_KEY) and drops
the backup codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

if TYPE_CHECKING:  # imported when run (below), so loading the revision needs no settings
    from classquiz.services.totp import SecretBox


def _secret_box() -> SecretBox:
    from classquiz.config import Settings
    from classquiz.services.totp import SecretBox

    return SecretBox(Settings().secret_key)


def rewrite_secrets(
    connection: sa.Connection, needs_rewrite: Callable[[str], bool], rewrite: Callable[[str], str]
) -> int:
    """Rewrite each stored secret that needs it; the number of rows changed."""
    rows = connection.execute(
        sa.text("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL FOR UPDATE")
    ).all()
    changed = 0
    for user_id, stored in rows:
        if needs_rewrite(stored):
            connection.execute(
                sa.text("UPDATE users SET totp_secret = :secret WHERE id = :id"),
                {"secret": rewrite(stored), "id": user_id},
            )
            changed += 1
    return changed


def seal_plain_secrets(connection: sa.Connection) -> int:
    """Seal every secret that is still plain text (idempotent)."""
    box = _secret_box()
    return rewrite_secrets(connection, lambda stored: not box.is_sealed(stored), box.seal)


def upgrade() -> None:
    op.alter_column(
        "users", "totp_secret", type_=sa.String(length=255), existing_type=sa.String(length=64)
    )
    seal_plain_secrets(op.get_bind())
    op.execute(
        "CREATE TABLE IF NOT EXISTS totp_backup_codes ("
        " id CHAR(36) NOT NULL PRIMARY KEY,"
        " user_id CHAR(36) NOT NULL"
        "  CONSTRAINT fk_totp_backup_codes_users_id_user REFERENCES users (id) ON DELETE CASCADE,"
        " code_hash VARCHAR(64) NOT NULL UNIQUE,"
        " created_at TIMESTAMP WITH TIME ZONE,"
        " used_at TIMESTAMP WITH TIME ZONE)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_totp_backup_codes_user_id ON totp_backup_codes (user_id)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS totp_backup_codes")
    box = _secret_box()
    rewrite_secrets(op.get_bind(), box.is_sealed, box.open)
    op.alter_column(
        "users", "totp_secret", type_=sa.String(length=64), existing_type=sa.String(length=255)
    )
