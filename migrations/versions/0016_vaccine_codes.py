"""Health-data codes (issue 24): the catalog's codes (CVX, SNOMED CT, ATC, EU product and holder,
MVX, target disease), and what `administer` records of a dose (the lot's expiry, site, route).

The five default vaccines get their codes (docs/interop.md says where each comes from) when they
still have the catalog's default name and no code yet. The reservation table only gains nullable
columns, which SQLite adds in place (no copy of the biggest table); the view that reads it is
dropped and made again around the change all the same, as batch operations may rebuild a table.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE_COLUMNS = (
    ("cvx", 3), ("snomed", 18), ("atc", 7), ("eu_product", 16), ("eu_holder", 16), ("mvx", 3), ("target_disease", 18),
)  # fmt: skip
COVID_19 = "840539006"
# name_key: cvx, snomed (vaccine type), atc, EU product, EU holder, mvx; first formulations.
DEFAULT_CODES = {
    "pfizer": ("208", "1119349007", "J07BN01", "EU/1/20/1528", "ORG-100030215", "PFR"),
    "moderna": ("207", "1119349007", "J07BN01", "EU/1/20/1507", "ORG-100031184", "MOD"),
    "astrazeneca": ("210", "29061000087103", "J07BN02", "EU/1/21/1529", "ORG-100001699", "ASZ"),
    "janssen": ("212", "29061000087103", "J07BN02", "EU/1/20/1525", "ORG-100001417", "JSN"),
    "novavax": ("211", "1162643001", "J07BN04", "EU/1/21/1618", "ORG-100032020", "NVX"),
}

VIEW = """
CREATE VIEW reservation_view AS
SELECT r.id AS id, r.user_id AS user_id, r.dose AS dose, r.status AS status, r.slot_id AS slot_id,
       s.date AS date, s.hospital AS hospital, s.vaccine AS vaccine,
       r.reserved_at AS reserved_at, r.cancelled_at AS cancelled_at,
       r.administered_at AS administered_at, r.lot AS lot
FROM reservation AS r
JOIN slot AS s ON s.id = r.slot_id
"""


def upgrade() -> None:
    with op.batch_alter_table("vaccine") as batch_op:
        for name, length in CODE_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    vaccine = sa.table("vaccine", sa.column("name_key", sa.String), *(sa.column(n, sa.String) for n, _ in CODE_COLUMNS))
    conn = op.get_bind()
    for key, (cvx, snomed, atc, eu_product, eu_holder, mvx) in DEFAULT_CODES.items():
        conn.execute(
            vaccine.update()
            .where(vaccine.c.name_key == key, vaccine.c.cvx.is_(None), vaccine.c.snomed.is_(None))
            .values(
                cvx=cvx, snomed=snomed, atc=atc, eu_product=eu_product, eu_holder=eu_holder, mvx=mvx,
                target_disease=COVID_19,
            )
        )  # fmt: skip
    op.execute("DROP VIEW reservation_view")
    with op.batch_alter_table("reservation") as batch_op:
        batch_op.add_column(sa.Column("lot_expires", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("site", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("route", sa.String(length=8), nullable=True))
    op.execute(VIEW)


def _drop_columns(table: str, names: Sequence[str]) -> None:
    """ALTER TABLE ... DROP COLUMN in place (SQLite 3.35 and later, PostgreSQL): a batch copy of
    `vaccine` would drop the table vaccine_alias refers to, which foreign keys refuse."""
    for name in names:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")


def downgrade() -> None:
    op.execute("DROP VIEW reservation_view")
    _drop_columns("reservation", ("route", "site", "lot_expires"))
    op.execute(VIEW)
    _drop_columns("vaccine", [name for name, _ in reversed(CODE_COLUMNS)])
