"""merged_into: the request a request was merged into

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:00:00

Issue 23 (SPEC §15, merge): `#merge REQ-12` on REQ-5, or `mailgate requests
merge REQ-5 --into REQ-12`, closes REQ-5 and sets its `merged_into` to 12;
later mail tagged REQ-5, or replying to its notices, is filed under REQ-12.
NULL: not merged (every request stored before this revision).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "merged_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_foreign_key("fk_requests_merged_into", "requests", ["merged_into"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_constraint("fk_requests_merged_into", type_="foreignkey")
        batch_op.drop_column("merged_into")
