"""accounts: mailed one-time tokens, verified e-mail, session generations, scoped keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

- `users.email_verified_at`: when the owner followed a verification link sent
  to the current address (NULL: not verified). Changing the address must clear it.
- `users.session_generation`: copied into every access token (`gen` claim) and
  compared on each request; "sign out everywhere", a password change and a
  password reset add one, so every token issued before stops working at once.
  Existing tokens carry no claim and count as generation 0.
- `api_keys.scope` ('read' or 'full'; existing keys stay 'full') and
  `api_keys.expires_at` (NULL: never; existing keys keep working).
- `account_tokens`: the single-use tokens sent by mail (password reset, e-mail
  verification). Only a SHA-256 of the token is kept, with the address it was
  sent to, when it expires and when it was used.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at TIMESTAMPTZ")
    op.execute(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS session_generation INTEGER NOT NULL DEFAULT 0"
    )
    op.execute(
        "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS scope VARCHAR(8) NOT NULL DEFAULT 'full'"
    )
    op.execute("ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ")
    op.execute(
        "CREATE TABLE IF NOT EXISTS account_tokens ("
        " id CHAR(36) NOT NULL PRIMARY KEY,"
        " user_id CHAR(36) NOT NULL"
        "  CONSTRAINT fk_account_tokens_users_id_user REFERENCES users (id) ON DELETE CASCADE,"
        " purpose VARCHAR(16) NOT NULL,"
        " token_hash VARCHAR(64) NOT NULL UNIQUE,"
        " email VARCHAR(254) NOT NULL,"
        " created_at TIMESTAMPTZ NOT NULL,"
        " expires_at TIMESTAMPTZ NOT NULL,"
        " used_at TIMESTAMPTZ)"
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_account_tokens_user_id ON account_tokens (user_id)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS account_tokens")
    op.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS expires_at")
    op.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS scope")
    op.execute("ALTER TABLE users DROP COLUMN IF EXISTS session_generation")
    op.execute("ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at")
