"""The audit trail (issue 14): who made each change, and the history of a reservation or a slot.

Every outbox message records its actor (`--actor`, VAXRES_ACTOR or the login name); messages
written before this revision keep NULL, shown as unknown. `vaxres log --reservation/--slot`
finds a reservation's or a slot's messages by correlation_id, through an index that leaves out
SlotRegistered: a slot import writes those a million at a time, and `log --slot` finds the one
it needs by its slot's created_at.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ABOUT_0010 = "event <> 'SlotRegistered'"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_outbox_about",
            ["correlation_id", "id"],
            unique=False,
            sqlite_where=sa.text(ABOUT_0010),
            postgresql_where=sa.text(ABOUT_0010),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_about")
        batch_op.drop_column("actor")
