"""The waitlist: people waiting for a dose of a vaccine, booked in join order by the
transaction that frees a matching dose.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("dose", sa.Integer(), nullable=False),
        sa.Column("vaccine", sa.String(length=200), nullable=False),
        sa.Column("vaccine_key", sa.String(length=200), nullable=False),
        sa.Column("hospital", sa.String(length=200), nullable=True),
        sa.Column("hospital_key", sa.String(length=200), nullable=True),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("dose >= 1", name=op.f("ck_waitlist_dose_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
        sa.UniqueConstraint("user_id", "dose", name=op.f("uq_waitlist_user_id_dose")),
    )
    with op.batch_alter_table("waitlist") as batch_op:
        batch_op.create_index("ix_waitlist_vaccine_key_id", ["vaccine_key", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("waitlist")
