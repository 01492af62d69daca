"""Delivery: leases on outbox messages, the in_flight status, and per-target circuit breakers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_outbox_status_known"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_outbox_status_known"), "status IN ('pending', 'in_flight', 'delivered', 'failed')"
        )
        batch_op.create_index("ix_outbox_recipient_status_id", ["recipient", "status", "id"], unique=False)
        batch_op.drop_index("ix_outbox_status_next_attempt_at")
        batch_op.create_index("ix_outbox_status_id", ["status", "id"], unique=False)
    op.create_table(
        "delivery_target",
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cooldown", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_delivery_target")),
    )


def downgrade() -> None:
    op.drop_table("delivery_target")
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'in_flight'")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_recipient_status_id")
        batch_op.drop_index("ix_outbox_status_id")
        batch_op.create_index("ix_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_constraint(batch_op.f("ck_outbox_status_known"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_outbox_status_known"), "status IN ('pending', 'delivered', 'failed')"
        )
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
