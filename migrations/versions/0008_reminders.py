"""Reminders (issue 13): one row per reminder written, keyed by booking, day and window, so that
`vaxres remind` run every hour writes each reminder once and a booking moved to another day is
reminded again for it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("days_before >= 0 AND days_before <= 30", name=op.f("ck_reminder_days_before_in_range")),
        sa.ForeignKeyConstraint(
            ["reservation_id"], ["reservation.id"], name=op.f("fk_reminder_reservation_id_reservation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint(
            "reservation_id", "date", "days_before", name=op.f("uq_reminder_reservation_id_date_days_before")
        ),
    )


def downgrade() -> None:
    op.drop_table("reminder")
