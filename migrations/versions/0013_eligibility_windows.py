"""Eligibility windows (issue 21): who may book a vaccine, or one dose of it, and when.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxres.db.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eligibility_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("vaccine_key", sa.String(length=100), nullable=False),
        sa.Column("dose", sa.Integer(), nullable=True),
        sa.Column("born_from", sa.Date(), nullable=True),
        sa.Column("born_to", sa.Date(), nullable=True),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column("age_on", sa.Date(), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("opens_at", UTCDateTime(), nullable=False),
        sa.Column("closes_at", UTCDateTime(), nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("rotation", sa.String(length=20), nullable=True),
        sa.Column("each_from", sa.String(length=5), nullable=True),
        sa.Column("each_to", sa.String(length=5), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_window")),
        sa.UniqueConstraint("name_key", name=op.f("uq_eligibility_window_name_key")),
    )
    op.create_index(op.f("ix_eligibility_window_vaccine_key"), "eligibility_window", ["vaccine_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_eligibility_window_vaccine_key"), table_name="eligibility_window")
    op.drop_table("eligibility_window")
