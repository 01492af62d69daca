"""The bulk offer of added doses (booking/offering.offer_added, what an import of slots runs) books
the same people into the same slots as the one-at-a-time offer of freed doses
(booking/waitlist.offer_freed, what `slot add` and a cancellation run) given the slots in day
order: over random catalogs of slots, people's held doses and waitlists (issue 25, item 1)."""

import datetime as dt
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from vaxres.booking import reservations, slots, waitlist
from vaxres.booking.offering import offer_added
from vaxres.db.opening import open_store
from vaxres.db.tables import reservation_table, slot_table, utcnow, waitlist_table

HOSPITALS = ["Seoul A", "Seoul B", "Busan"]
VACCINES = ["Pfizer", "Moderna", "Janssen"]  # 2 doses 21 days, 2 doses 28 days, 1 dose

slot_plans = st.lists(
    st.tuples(st.integers(1, 50), st.sampled_from(HOSPITALS), st.sampled_from(VACCINES), st.integers(1, 2)),
    min_size=1,
    max_size=8,
    unique_by=lambda plan: plan[:3],
)
people = st.lists(
    st.tuples(
        st.one_of(st.none(), st.tuples(st.sampled_from(VACCINES[:2]), st.integers(0, 20))),  # dose 1 held: vaccine, day
        st.sampled_from(VACCINES),  # waits for this vaccine
        st.sampled_from([None, "seoul", "busan", "nowhere"]),
        st.integers(0, 30),  # from, days ahead
        st.one_of(st.none(), st.integers(0, 40)),  # to, days after from
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("offers") / "empty.db"
    store = open_store(str(path))
    store.today()  # made and migrated
    store.dispose()
    return path


def prepared(empty_store, folder, slot_plan, waiting) -> tuple:
    """A store holding the people's first doses, their waitlist entries, then the planned slots
    (added with nobody offered them yet); the new slots' ids in day order."""
    path = folder / "a.db"
    shutil.copyfile(empty_store, path)
    store = open_store(str(path))
    today = store.today()
    for n, (held, *_wait) in enumerate(waiting):
        if held is not None:
            vaccine, day = held
            taken = slots.add_slot(
                store, date=today + dt.timedelta(days=day), hospital=f"Held {n}", vaccine=vaccine, quantity=1
            )
            reservations.reserve(store, user=f"p{n}", slot_id=taken.id)
    with store.write() as conn:
        for n, (held, vaccine, hospital, start, length) in enumerate(waiting):
            dose = 2 if held is not None and held[0] == vaccine else 1
            first = today + dt.timedelta(days=start)
            conn.execute(
                insert(waitlist_table).values(
                    user_id=f"p{n}",
                    dose=dose,
                    vaccine=vaccine,
                    vaccine_key=vaccine.casefold(),
                    hospital=hospital,
                    hospital_key=hospital,
                    date_from=first,
                    date_to=None if length is None else first + dt.timedelta(days=length),
                    joined_at=utcnow(),
                )
            )
        for day, hospital, vaccine, quantity in slot_plan:
            conn.execute(
                insert(slot_table).values(
                    date=today + dt.timedelta(days=day),
                    hospital=hospital,
                    vaccine=vaccine,
                    hospital_key=hospital.casefold(),
                    vaccine_key=vaccine.casefold(),
                    capacity=quantity,
                    remaining=quantity,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
        slots.remember_hospitals(conn, {hospital.casefold(): hospital for _day, hospital, _v, _q in slot_plan})
        added = (
            conn.execute(
                select(slot_table.c.id)
                .where(slot_table.c.hospital.in_(HOSPITALS))
                .order_by(slot_table.c.date, slot_table.c.id)
            )
            .scalars()
            .all()
        )
    store.dispose()
    twin = folder / "b.db"
    shutil.copyfile(path, twin)
    return path, twin, added


def booked(path) -> set[tuple[str, int]]:
    store = open_store(str(path))
    with store.read() as conn:
        rows = conn.execute(select(reservation_table.c.user_id, reservation_table.c.slot_id)).all()
    store.dispose()
    return {(user, slot_id) for user, slot_id in rows}


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slot_plan=slot_plans, waiting=people)
def test_the_bulk_offer_books_what_offering_each_slot_in_day_order_books(empty_store, tmp_path, slot_plan, waiting):
    bulk, single, added = prepared(empty_store, tmp_path, slot_plan, waiting)
    store = open_store(str(bulk))
    with store.write() as conn:
        offer_added(conn, [slot_table.c.id.in_(added)], today=store.today(), now=utcnow())
    store.dispose()
    store = open_store(str(single))
    with store.write() as conn:
        waitlist.offer_freed(conn, added, today=store.today(), now=utcnow())
    store.dispose()
    assert booked(bulk) == booked(single)
