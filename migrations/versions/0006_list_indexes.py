"""Indexes for lists that stay fast on millions of rows (issue 12).

`slot list --hospital/--vaccine` reads the distinct hospital names from an index (one seek per
name) and counts their slots; `--available` counts the sold-out slots of its days from a small
partial index; `outbox list --event` and `--from/--to` find and count their messages by index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOLD_OUT_0006 = "remaining = 0"


def upgrade() -> None:
    with op.batch_alter_table("slot") as batch_op:
        batch_op.create_index("ix_slot_hospital_key_vaccine_key", ["hospital_key", "vaccine_key"], unique=False)
        batch_op.create_index(
            "ix_slot_sold_out",
            ["date"],
            unique=False,
            sqlite_where=sa.text(SOLD_OUT_0006),
            postgresql_where=sa.text(SOLD_OUT_0006),
        )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_index("ix_outbox_event_id", ["event", "id"], unique=False)
        batch_op.create_index("ix_outbox_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_created_at")
        batch_op.drop_index("ix_outbox_event_id")
    with op.batch_alter_table("slot") as batch_op:
        batch_op.drop_index("ix_slot_sold_out")
        batch_op.drop_index("ix_slot_hospital_key_vaccine_key")
