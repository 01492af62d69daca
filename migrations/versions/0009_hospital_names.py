"""Hospital names for `slot list --hospital` instead of an index on every slot (issue 12).

The index `(hospital_key, vaccine_key)` of migration 0006 made `import slots` of a million rows
about 10% slower (a second b-tree written per slot), which took it past its goal of 2x a plain
sqlite3 load. The distinct hospital keys now live in a small table kept by the writers of slots;
counting the slots of the names found reads the unique `(date, hospital_key, vaccine_key)` index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hospital",
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name_key", name=op.f("pk_hospital")),
    )
    op.execute(
        "INSERT INTO hospital (name_key, name) SELECT hospital_key, MIN(hospital) FROM slot GROUP BY hospital_key"
    )
    with op.batch_alter_table("slot") as batch_op:
        batch_op.drop_index("ix_slot_hospital_key_vaccine_key")


def downgrade() -> None:
    with op.batch_alter_table("slot") as batch_op:
        batch_op.create_index("ix_slot_hospital_key_vaccine_key", ["hospital_key", "vaccine_key"], unique=False)
    op.drop_table("hospital")
