"""Slots, reservations and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("hospital", sa.String(length=200), nullable=False),
        sa.Column("vaccine", sa.String(length=200), nullable=False),
        sa.Column("hospital_key", sa.String(length=200), nullable=False),
        sa.Column("vaccine_key", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("remaining >= 0 AND remaining <= capacity", name=op.f("ck_slot_remaining_within_capacity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot")),
        sa.UniqueConstraint("date", "hospital_key", "vaccine_key", name=op.f("uq_slot_date_hospital_key_vaccine_key")),
    )
    op.create_table(
        "reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("dose", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("dose >= 1", name=op.f("ck_reservation_dose_positive")),
        sa.CheckConstraint("status IN ('reserved', 'cancelled')", name=op.f("ck_reservation_status_known")),
        sa.ForeignKeyConstraint(["slot_id"], ["slot.id"], name=op.f("fk_reservation_slot_id_slot")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservation")),
    )
    with op.batch_alter_table("reservation") as batch_op:
        batch_op.create_index(batch_op.f("ix_reservation_slot_id"), ["slot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reservation_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_reservation_active_user_dose",
            ["user_id", "dose"],
            unique=True,
            sqlite_where=sa.text("status = 'reserved'"),
            postgresql_where=sa.text("status = 'reserved'"),
        )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f("ck_outbox_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_index("ix_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("reservation")
    op.drop_table("slot")
