"""hook_calls: the queue of event hook calls (SPEC §16)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 21:00:00

Issue 24: a `[[hook]]` call is queued in the transaction of the change it
reports and sent by the hook pump with retries, as notifications are.
"""

import sqlalchemy as sa
from alembic import op

from mailgate.store.tables import UtcDateTime

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hook_calls",
        sa.Column("id", Id, nullable=False),
        sa.Column("hook", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("delivery", sa.String(length=100), nullable=False),
        sa.Column("request_id", Id, nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery"),
    )
    op.create_index("ix_hook_calls_request_id", "hook_calls", ["request_id"])
    op.create_index("ix_hook_calls_due", "hook_calls", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_hook_calls_due", table_name="hook_calls")
    op.drop_index("ix_hook_calls_request_id", table_name="hook_calls")
    op.drop_table("hook_calls")
