"""Citizens book for themselves (issue 23): one-time codes and sessions, hashes only.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxres.db.types import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizen_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("spent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_code")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_citizen_code_person_id_created_at"), "citizen_code", ["person_id", "created_at"])
    op.create_index(op.f("ix_citizen_code_created_at"), "citizen_code", ["created_at"])
    op.create_table(
        "citizen_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_citizen_session")),
    )
    op.create_index(op.f("ix_citizen_session_expires_at"), "citizen_session", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_citizen_session_expires_at"), table_name="citizen_session")
    op.drop_table("citizen_session")
    op.drop_index(op.f("ix_citizen_code_created_at"), table_name="citizen_code")
    op.drop_index(op.f("ix_citizen_code_person_id_created_at"), table_name="citizen_code")
    op.drop_table("citizen_code")
