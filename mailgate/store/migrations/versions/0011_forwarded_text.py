"""forwarded: the message a client forwarded, kept beside the new text

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 12:00:00

Issue 21: a forwarded message (under a forward separator, or attached as
message/rfc822) is no part of the new text, so that no command is read from
it; it is stored here instead, as its header lines and text
(`ForwardedMessage.as_text`), and shown to agents. NULL: nothing forwarded
(and every message stored before this revision).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forwarded", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("forwarded")
