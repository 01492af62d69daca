"""The vaccine catalog, and a booking's life after its day (administered, no-show).

Adds `vaccine` and `vaccine_alias` (a new store starts with five common vaccines); every vaccine
an existing slot names joins the catalog (with its defaults when the name or an alias matches,
renaming the slots to the catalog name; else as a 1-dose vaccine). Reservations gain the
statuses `administered` and `no_show`, `administered_at` and `lot`; a person holds or has received
each dose of the series once (the partial unique index now covers `administered` too).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import datetime as dt
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, aliases, doses in the primary series, minimum days between doses
DEFAULT_VACCINES = (
    ("Pfizer", ("Comirnaty", "화이자"), 2, 21),
    ("Moderna", ("Spikevax", "모더나"), 2, 28),
    ("AstraZeneca", ("Vaxzevria", "아스트라제네카"), 2, 56),
    ("Janssen", ("얀센",), 1, 0),
    ("Novavax", ("Nuvaxovid", "노바백스"), 2, 21),
)

VIEW_0002 = """
CREATE VIEW reservation_view AS
SELECT r.id AS id, r.user_id AS user_id, r.dose AS dose, r.status AS status, r.slot_id AS slot_id,
       s.date AS date, s.hospital AS hospital, s.vaccine AS vaccine,
       r.reserved_at AS reserved_at, r.cancelled_at AS cancelled_at
FROM reservation AS r
JOIN slot AS s ON s.id = r.slot_id
"""

VIEW_0004 = """
CREATE VIEW reservation_view AS
SELECT r.id AS id, r.user_id AS user_id, r.dose AS dose, r.status AS status, r.slot_id AS slot_id,
       s.date AS date, s.hospital AS hospital, s.vaccine AS vaccine,
       r.reserved_at AS reserved_at, r.cancelled_at AS cancelled_at,
       r.administered_at AS administered_at, r.lot AS lot
FROM reservation AS r
JOIN slot AS s ON s.id = r.slot_id
"""

HELD_0003 = "status = 'reserved'"
HELD_0004 = "status IN ('reserved', 'administered')"


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _slots(count: int) -> str:
    return "1 slot" if count == 1 else f"{count} slots"


def _verb(count: int) -> str:
    return "names" if count == 1 else "name"


def upgrade() -> None:
    vaccine = op.create_table(
        "vaccine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("min_interval_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("doses >= 1 AND doses <= 10", name=op.f("ck_vaccine_doses_in_range")),
        sa.CheckConstraint("min_interval_days >= 0", name=op.f("ck_vaccine_interval_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vaccine")),
        sa.UniqueConstraint("name_key", name=op.f("uq_vaccine_name_key")),
    )
    alias = op.create_table(
        "vaccine_alias",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=False),
        sa.Column("vaccine_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["vaccine_id"], ["vaccine.id"], name=op.f("fk_vaccine_alias_vaccine_id_vaccine")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_vaccine_alias")),
    )
    with op.batch_alter_table("vaccine_alias") as batch_op:
        batch_op.create_index(batch_op.f("ix_vaccine_alias_vaccine_id"), ["vaccine_id"], unique=False)

    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    notes = context.config.attributes.setdefault("notes", [])
    known = {}  # any name or alias key -> catalog name
    for number, (name, aliases, doses, interval) in enumerate(DEFAULT_VACCINES, start=1):
        conn.execute(
            vaccine.insert().values(
                id=number,
                name=name,
                name_key=_key(name),
                doses=doses,
                min_interval_days=interval,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(alias.insert(), [{"key": _key(a), "alias": a, "vaccine_id": number} for a in aliases])
        known.update({_key(spelling): name for spelling in (name, *aliases)})
    next_id = len(DEFAULT_VACCINES) + 1
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('vaccine', 'id'), :n)"), {"n": next_id - 1})

    slot = sa.table(
        "slot",
        sa.column("id", sa.Integer),
        sa.column("date", sa.Date),
        sa.column("hospital_key", sa.String),
        sa.column("vaccine", sa.String),
        sa.column("vaccine_key", sa.String),
    )
    used = conn.execute(sa.select(slot.c.vaccine_key, sa.func.min(slot.c.vaccine)).group_by(slot.c.vaccine_key)).all()
    for vaccine_key, spelling in used:
        catalog_name = known.get(vaccine_key) or known.get(_key(spelling))
        if catalog_name is None:
            conn.execute(
                vaccine.insert().values(
                    id=next_id,
                    name=spelling,
                    name_key=vaccine_key,
                    doses=1,
                    min_interval_days=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            known[vaccine_key] = spelling
            next_id += 1
            # Every slot of that vaccine takes the one spelling the catalog now has.
            conn.execute(slot.update().where(slot.c.vaccine_key == vaccine_key).values(vaccine=spelling))
            notes.append(f"added vaccine {spelling} (used by slots; 1 dose: change it with `vaxres vaccine update`)")
            continue
        target_key = _key(catalog_name)
        if vaccine_key == target_key:
            # The catalog's name, maybe in another case: the same key, so no slot can collide.
            renamed = conn.execute(
                slot.update()
                .where(slot.c.vaccine_key == vaccine_key, slot.c.vaccine != catalog_name)
                .values(vaccine=catalog_name)
            ).rowcount
            if renamed:
                notes.append(
                    f"{_slots(renamed)} spelling {catalog_name} in another case now {_verb(renamed)} it as the catalog does"
                )
            continue
        # Slots that name a catalog vaccine by an alias take its name, unless the renamed slot
        # would collide with one that already has it.
        other = slot.alias("other")
        collides = sa.exists().where(
            other.c.date == slot.c.date, other.c.hospital_key == slot.c.hospital_key, other.c.vaccine_key == target_key
        )
        renamed = conn.execute(
            slot.update()
            .where(slot.c.vaccine_key == vaccine_key, ~collides)
            .values(vaccine=catalog_name, vaccine_key=target_key)
        ).rowcount
        if renamed:
            notes.append(
                f"{_slots(renamed)} named {spelling!r} now {_verb(renamed)} the catalog vaccine {catalog_name}"
            )
        kept = conn.execute(sa.select(sa.func.count()).where(slot.c.vaccine_key == vaccine_key)).scalar()
        if kept:
            notes.append(
                f"{_slots(kept)} named {spelling!r} kept that name: a {catalog_name} slot exists on the same day at "
                f"the same hospital; {'it books' if kept == 1 else 'they book'} as a 1-dose vaccine until you move "
                f"{'its' if kept == 1 else 'their'} bookings"
            )
    if conn.dialect.name == "postgresql" and next_id > len(DEFAULT_VACCINES) + 1:
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('vaccine', 'id'), :n)"), {"n": next_id - 1})

    op.execute("DROP VIEW reservation_view")
    with op.batch_alter_table("reservation") as batch_op:
        batch_op.add_column(sa.Column("administered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lot", sa.String(length=200), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_reservation_status_known"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_reservation_status_known"), "status IN ('reserved', 'cancelled', 'administered', 'no_show')"
        )
        batch_op.drop_index("uq_reservation_active_user_dose")
        batch_op.create_index(
            "uq_reservation_active_user_dose",
            ["user_id", "dose"],
            unique=True,
            sqlite_where=sa.text(HELD_0004),
            postgresql_where=sa.text(HELD_0004),
        )
    op.execute(VIEW_0004)


def downgrade() -> None:
    op.execute("DROP VIEW reservation_view")
    op.execute("UPDATE reservation SET status = 'cancelled' WHERE status IN ('administered', 'no_show')")
    with op.batch_alter_table("reservation") as batch_op:
        batch_op.drop_index("uq_reservation_active_user_dose")
        batch_op.create_index(
            "uq_reservation_active_user_dose",
            ["user_id", "dose"],
            unique=True,
            sqlite_where=sa.text(HELD_0003),
            postgresql_where=sa.text(HELD_0003),
        )
        batch_op.drop_constraint(batch_op.f("ck_reservation_status_known"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_reservation_status_known"), "status IN ('reserved', 'cancelled')"
        )
        batch_op.drop_column("lot")
        batch_op.drop_column("administered_at")
    op.execute(VIEW_0002)
    with op.batch_alter_table("vaccine_alias") as batch_op:
        batch_op.drop_index(batch_op.f("ix_vaccine_alias_vaccine_id"))
    op.drop_table("vaccine_alias")
    op.drop_table("vaccine")
