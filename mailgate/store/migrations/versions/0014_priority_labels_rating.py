"""priority, labels and satisfaction ratings (SPEC §16)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:00:00

Issue 24: a request's priority (`normal` for every request stored before), the
labels agents put on it (a table of their own, for `requests list --label`), and
the rating a client gave after the close: when it was asked for (NULL: never,
so none is recorded), its value, comment and time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"  # after the hooks' 0013 (and 0012 once it lands before it)
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.String(length=16), nullable=False, server_default="normal")
        )
        batch_op.add_column(sa.Column("rating_asked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rating", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("rating_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_requests_priority", ["priority"], unique=False)
        batch_op.create_index("ix_requests_rating", ["rating"], unique=False)
    op.create_table(
        "request_labels",
        sa.Column("request_id", _ID, sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "label"),
    )
    op.create_index("ix_request_labels_label", "request_labels", ["label"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_request_labels_label", table_name="request_labels")
    op.drop_table("request_labels")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_rating")
        batch_op.drop_index("ix_requests_priority")
        for column in ("rated_at", "rating_comment", "rating", "rating_asked_at", "priority"):
            batch_op.drop_column(column)
