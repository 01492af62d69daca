"""People (issue 20): a person registry behind the ids `--user` has always taken.

`person` holds what reaches a person (name, phone, e-mail, language, guardian) and what the
eligibility rules read (birth date, sex, groups in `person_group`); a resident registration number
only as an HMAC fingerprint (unique) and its masked form. Every id already in a reservation or on
the waitlist becomes a bare person (the id only), so every booking names a registered person.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxres.db.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("guardian_id", sa.String(length=200), nullable=True),
        sa.Column("id_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("id_masked", sa.String(length=14), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("forgotten_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_person_sex_known")),
        sa.CheckConstraint("guardian_id <> id", name=op.f("ck_person_not_own_guardian")),
        sa.ForeignKeyConstraint(["guardian_id"], ["person.id"], name=op.f("fk_person_guardian_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("id_fingerprint", name=op.f("uq_person_id_fingerprint")),
    )
    op.create_table(
        "person_group",
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("group_key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_person_group_person_id_person")),
        sa.PrimaryKeyConstraint("person_id", "group_key", name=op.f("pk_person_group")),
    )
    now = "CURRENT_TIMESTAMP"
    op.execute(
        "INSERT INTO person (id, created_at, updated_at) "
        f"SELECT user_id, {now}, {now} FROM (SELECT user_id FROM reservation UNION SELECT user_id FROM waitlist) AS known"
    )


def downgrade() -> None:
    op.drop_table("person_group")
    op.drop_table("person")
