"""inbound digest: a different message with a Message-ID already taken is kept too

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 12:00:00

Anyone can write any Message-ID, a victim's future one too; the inbound key
was the Message-ID alone, so the victim's mail became a "duplicate" of the
stranger's and was never applied. Each message now keeps the digest of what
its sender wrote (mailgate/digest.py): a later message with a known
Message-ID and another digest is stored under a key of its own.

The messages stored before are given theirs from their raw bytes, where the
whole message is still there: not after `mailgate purge` dropped it, nor for a
message refused for its size (only its header block is kept). Those keep no
digest and count as the same message as a later one with their Message-ID, as
every message did before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BATCH = 200


def upgrade() -> None:
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
    _fill_digests(op.get_bind())


def _fill_digests(connection: sa.Connection) -> None:
    from mailgate.digest import content_digest  # the definition the worker stores

    inbound = sa.table(
        "inbound",
        sa.column("id", sa.Integer()),
        sa.column("raw", sa.LargeBinary()),
        sa.column("digest", sa.String()),
        sa.column("state", sa.String()),
        sa.column("error", sa.Text()),
        sa.column("purged_at", sa.DateTime()),
    )
    whole = sa.and_(
        inbound.c.purged_at.is_(None),
        sa.not_(sa.and_(inbound.c.state == "failed", inbound.c.error.like("too large%"))),
    )
    last = 0
    while True:  # a batch at a time: never every raw message in memory at once
        rows = connection.execute(
            sa.select(inbound.c.id, inbound.c.raw)
            .where(inbound.c.id > last, whole)
            .order_by(inbound.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            sa.update(inbound).where(inbound.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "digest": content_digest(bytes(raw))} for row_id, raw in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.drop_column("digest")
