"""outbound: an index on (template, created_at)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:00:00

The acknowledgement limits (SPEC §14) count the `created` notices of the last
hour, in all, for every batch that opens requests: without this index that is
a scan of the whole outbox, raw copies included.


"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: an index needs no copy of the table, on SQLite either.
    op.create_index("ix_outbound_template_created", "outbound", ["template", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbound_template_created", table_name="outbound")
