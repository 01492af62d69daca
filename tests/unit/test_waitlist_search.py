"""The bulk waitlist offer's slot search (booking/offering._place: day-ordered indexes, a
union-find past full slots, bisection by day) books what a naive scan of the same slots books:
for each entry in join order, the earliest slot with a dose left, at a hospital containing its
text, within its days, that its person's series allows."""

import datetime as dt
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from vaxres.booking import rules
from vaxres.booking.model import HeldDose, VaccineRecord
from vaxres.booking.offering import _Doses, _place
from vaxres.errors import Refused

TODAY = dt.date(2027, 3, 1)
PFIZER = VaccineRecord("Pfizer", (), 2, 21)
HOSPITALS = ["seoul a", "seoul b", "busan", "incheon seoul"]

slots_strategy = st.lists(
    st.tuples(st.integers(-3, 60), st.sampled_from(HOSPITALS), st.integers(0, 3)), min_size=1, max_size=25
)
entries_strategy = st.lists(
    st.tuples(
        st.sampled_from([None, "seoul", "busan", "nowhere"]),
        st.integers(-5, 40),  # from, days after TODAY
        st.one_of(st.none(), st.integers(0, 70)),  # to: None, or days after from
        st.one_of(st.none(), st.integers(-30, 30)),  # dose 1 held on this day: the entry waits for dose 2
    ),
    max_size=30,
)


def naive(slots: list[list], entry, held: dict[int, HeldDose]) -> int | None:
    for index, (day, hospital, left) in enumerate(slots):
        if left <= 0 or day < max(entry.date_from, TODAY):
            continue
        if entry.date_to is not None and day > entry.date_to:
            continue
        if entry.hospital_key is not None and entry.hospital_key not in hospital:
            continue
        try:
            rules.check_series(entry.user_id, entry.dose, day, PFIZER, held)
        except Refused:
            continue
        slots[index][2] -= 1
        return index
    return None


@settings(max_examples=300, derandomize=True, deadline=None)
@given(slots_strategy, entries_strategy)
def test_the_bulk_search_books_what_a_naive_scan_books(slots, entries):
    ordered = sorted(((TODAY + dt.timedelta(days=d), h, left) for d, h, left in slots), key=lambda slot: slot[0])
    doses = _Doses(PFIZER)
    for n, (day, hospital, left) in enumerate(ordered):
        doses.ids.append(100 + n)
        doses.days.append(day)
        doses.hospitals.append(hospital)
        doses.left.append(left)
    scan = [list(slot) for slot in ordered]
    for number, (hospital, start, length, dose_1_on) in enumerate(entries):
        date_from = TODAY + dt.timedelta(days=start)
        entry = SimpleNamespace(
            birth_date=None,
            guardian_id=None,
            user_id=f"p{number}",
            dose=1 if dose_1_on is None else 2,
            hospital_key=hospital,
            date_from=date_from,
            date_to=None if length is None else date_from + dt.timedelta(days=length),
        )
        held = (
            {} if dose_1_on is None else {1: HeldDose(1, 1, "reserved", TODAY + dt.timedelta(days=dose_1_on), "Pfizer")}
        )
        placed = _place(doses, entry, held, TODAY)
        expected = naive(scan, entry, held)
        assert (None if placed is None else placed[0] - 100) == expected
    assert doses.left == [slot[2] for slot in scan]
