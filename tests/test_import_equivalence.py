"""An import of N booking rows decides as N `reserve` calls in file order (issue 25): the same
bookings, and each refused row refused with the code the single command gives."""

import datetime as dt
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.helpers import future
from vaxres.booking import reservations, slots
from vaxres.db.opening import open_store
from vaxres.db.tables import reservation_table
from vaxres.errors import VaxresError
from vaxres.imports.run import ImportOptions, import_reservations

SLOTS = [  # day, hospital, vaccine, doses
    (7, "Seoul", "Pfizer", 2),
    (7, "Busan", "Pfizer", 1),
    (28, "Seoul", "Pfizer", 2),
    (35, "Busan", "Pfizer", 0),
    (14, "Seoul", "Janssen", 1),
]
ROWS = st.lists(
    st.tuples(st.sampled_from(["ann", "ben", "cho"]), st.integers(0, len(SLOTS) - 1), st.integers(1, 3)),
    max_size=12,
)


def fresh(folder, name: str, empty_store_file):
    path = folder / name
    for leftover in folder.glob(f"{name}*"):
        leftover.unlink()
    shutil.copyfile(empty_store_file, path)
    store = open_store(str(path))
    for day, hospital, vaccine, doses in SLOTS:
        if doses:
            slots.add_slot(store, date=future(day), hospital=hospital, vaccine=vaccine, quantity=doses)
    return store


def held(store) -> list[tuple]:
    r = reservation_table.c
    with store.read() as conn:
        return sorted(conn.execute(select(r.user_id, r.dose, r.slot_id, r.status)).all())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ROWS)
def test_an_import_decides_as_reserve_calls_in_file_order(tmp_path, empty_store_file, rows):
    by_import, by_reserve = fresh(tmp_path, "a.db", empty_store_file), fresh(tmp_path, "b.db", empty_store_file)
    plan = tmp_path / "rows.csv"
    plan.write_text(
        "user,date,hospital,vaccine,dose\n"
        + "".join(f"{user},{future(SLOTS[n][0])},{SLOTS[n][1]},{SLOTS[n][2]},{dose}\n" for user, n, dose in rows)
    )
    summary = import_reservations(by_import, str(plan), ImportOptions())
    refused_by_import = {error.line - 1: error.code for error in summary.errors}

    refused_by_reserve = {}
    for number, (user, n, dose) in enumerate(rows, start=1):
        day, hospital, vaccine, _ = SLOTS[n]
        try:
            reservations.reserve(
                by_reserve,
                user=user,
                date=dt.date.fromisoformat(future(day)),
                hospital=hospital,
                vaccine=vaccine,
                dose=dose,
            )
        except VaxresError as refusal:
            refused_by_reserve[number] = refusal.code
    assert held(by_import) == held(by_reserve)
    assert len(summary.errors) == summary.refused  # every refusal is listed (fewer than 20 rows)
    # A row that repeats a booking the file already made is "already" for the import (a file
    # imported twice books nothing twice) and already_reserved for reserve: the same outcome.
    repeated = {number for number, code in refused_by_reserve.items() if code == "already_reserved"} - set(
        refused_by_import
    )
    assert summary.already == len(repeated)
    assert {k: v for k, v in refused_by_reserve.items() if k not in repeated} == refused_by_import
    by_import.dispose()
    by_reserve.dispose()
