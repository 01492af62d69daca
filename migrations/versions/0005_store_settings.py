"""The store's own settings: its time zone, so that every machine sharing the store agrees on
what "today" and "in the past" mean. Set from the zone of the machine that creates or upgrades
the store (the zone vaxres used implicitly before); `vaxres db set-timezone` changes it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from vaxres.db.clock import TIMEZONE_KEY, machine_zone_name

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    setting = op.create_table(
        "store_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_setting")),
    )
    zone = machine_zone_name()
    op.bulk_insert(setting, [{"key": TIMEZONE_KEY, "value": zone}])
    context.config.attributes.setdefault("notes", []).append(
        f"the store's time zone is now {zone} (this machine's); `vaxres db set-timezone ZONE` changes it"
    )


def downgrade() -> None:
    op.drop_table("store_setting")
