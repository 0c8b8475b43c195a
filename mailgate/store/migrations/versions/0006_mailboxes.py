"""mailboxes: the mailbox a request belongs to and the one a message was read from

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00

Existing rows belong to `default`, the one mailbox of a file without [[mailbox]].
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("requests", "inbound"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("mailbox", sa.String(length=64), server_default="default", nullable=False)
            )
    op.create_index("ix_requests_mailbox", "requests", ["mailbox"])


def downgrade() -> None:
    op.drop_index("ix_requests_mailbox", table_name="requests")
    for table in ("inbound", "requests"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("mailbox")
