"""rounds by mailbox: a worker's last round is kept for each mailbox it watches

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 12:00:00

`mailgate run` watches each mailbox in a thread of its own, and `status` shows
each mailbox's last round: the key becomes (worker, mailbox), where mailbox ""
is a round over every mailbox at once (`run --once` with several), as the rows
kept from before are.
"""

from contextlib import AbstractContextManager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PG_KEY = "worker_rounds_pkey"  # PostgreSQL's name for the key made by 0005


def _mailbox() -> sa.Column[str]:
    return sa.Column("mailbox", sa.String(length=64), server_default="", nullable=False)


def _sqlite_batch() -> AbstractContextManager[BatchOperations]:
    """SQLite makes the table anew; its unnamed key gets a name here so it can be dropped."""
    return op.batch_alter_table(
        "worker_rounds", recreate="always", naming_convention={"pk": "pk_%(table_name)s"}
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("worker_rounds", _mailbox())
        op.drop_constraint(PG_KEY, "worker_rounds", type_="primary")
        op.create_primary_key(PG_KEY, "worker_rounds", ["worker", "mailbox"])
        return
    with _sqlite_batch() as batch_op:
        batch_op.add_column(_mailbox())
        batch_op.drop_constraint("pk_worker_rounds", type_="primary")
        batch_op.create_primary_key("pk_worker_rounds", ["worker", "mailbox"])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM worker_rounds WHERE mailbox <> ''"))
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(PG_KEY, "worker_rounds", type_="primary")
        op.drop_column("worker_rounds", "mailbox")
        op.create_primary_key(PG_KEY, "worker_rounds", ["worker"])
        return
    with _sqlite_batch() as batch_op:
        batch_op.drop_constraint("pk_worker_rounds", type_="primary")
        batch_op.drop_column("mailbox")
        batch_op.create_primary_key("pk_worker_rounds", ["worker"])
