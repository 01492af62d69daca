"""The reservation view: what `vaxres mypage` reads, one row per reservation with its slot.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESERVATION_VIEW = """
CREATE VIEW reservation_view AS
SELECT r.id AS id,
       r.user_id AS user_id,
       r.dose AS dose,
       r.status AS status,
       r.slot_id AS slot_id,
       s.date AS date,
       s.hospital AS hospital,
       s.vaccine AS vaccine,
       r.reserved_at AS reserved_at,
       r.cancelled_at AS cancelled_at
FROM reservation AS r
JOIN slot AS s ON s.id = r.slot_id
"""


def upgrade() -> None:
    op.execute(RESERVATION_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW reservation_view")
