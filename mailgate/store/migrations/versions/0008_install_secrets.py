"""install secrets: the key that signs reply tokens and VERP return paths

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:00:00

Generated here, so every database `mailgate init` made or upgraded has one:
the agents' reply address (SPEC §14) needs it from the first notice on. A
`[trust] token_secret` in the config takes its place.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "install_secrets",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.bulk_insert(table, [{"name": "token", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("install_secrets")
