"""sign-in: accounts at other providers, and passkeys

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

- `oauth_identities`: a user's account at Google, GitHub or an OpenID provider,
  one row per (provider, subject). The subject, not the e-mail, names who signs
  in, so a changed address at the provider keeps the link.
- `passkeys`: WebAuthn credentials (base64url id and public key, the signature
  counter, the transports the browser reported, a name the owner chose).

Both go with their user (ON DELETE CASCADE). Downgrade drops them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_identities",
        sa.Column("id", sa.CHAR(36), primary_key=True),
        sa.Column(
            "user_id", sa.CHAR(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("provider", "subject", name="uq_oauth_provider_subject"),
    )
    op.create_index("ix_oauth_identities_user_id", "oauth_identities", ["user_id"])
    op.create_table(
        "passkeys",
        sa.Column("id", sa.CHAR(36), primary_key=True),
        sa.Column(
            "user_id", sa.CHAR(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("credential_id", sa.String(1400), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=True),
        sa.Column("transports", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_passkeys_user_id", "passkeys", ["user_id"])
    op.create_index("ix_passkeys_credential_id", "passkeys", ["credential_id"], unique=True)


def downgrade() -> None:
    op.drop_table("passkeys")
    op.drop_table("oauth_identities")
