"""erasures: the record of every `mailgate people erase`

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 21:00:00

Issue 24 (SPEC §16, privacy): an erasure replaces a person's address by a
stable pseudonym everywhere and removes their texts and raw mail; this table
says who erased whom (by pseudonym, never the address) and when, and what was
removed (a JSON object of counts).
"""

import sqlalchemy as sa
from alembic import op

from mailgate.store.tables import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("erased_by", sa.String(length=320), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasures")
