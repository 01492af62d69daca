"""The series rules as a table: which dose of which vaccine on which day a person holding what may
book (booking/rules.check_series, the decision every booking path applies), with no store."""

import datetime as dt

import pytest

from vaxres.booking import rules
from vaxres.booking.model import HeldDose, SlotRecord, VaccineRecord
from vaxres.cli.hints import explain

DAY = dt.date(2027, 3, 1)
PFIZER = VaccineRecord("Pfizer", ("화이자",), 2, 21)
JANSSEN = VaccineRecord("Janssen", (), 1, 0)


def held(dose: int, days: int, *, vaccine: str = "Pfizer", status: str = "reserved", number: int = 7) -> HeldDose:
    return HeldDose(number, dose, status, DAY + dt.timedelta(days=days), vaccine)


def on(days: int) -> dt.date:
    return DAY + dt.timedelta(days=days)


def slot_on(days: int) -> SlotRecord:
    return SlotRecord(3, on(days), "Seoul", "Pfizer", 10, 10)


@pytest.mark.parametrize(
    ("dose", "days", "vaccine", "holding", "refusal"),
    [
        (1, 0, PFIZER, [], None),
        (2, 21, PFIZER, [held(1, 0)], None),  # exactly the interval
        (2, 20, PFIZER, [held(1, 0)], rules.DoseInterval),  # a day short
        (2, 30, PFIZER, [], rules.DoseOrder),  # no dose 1
        (2, 30, PFIZER, [held(1, 0, status="administered")], None),  # dose 1 given counts
        (1, 0, PFIZER, [held(1, 5)], rules.AlreadyReserved),
        (1, 0, PFIZER, [held(1, 5, status="administered")], rules.AlreadyReserved),
        (3, 60, PFIZER, [held(1, 0), held(2, 21)], rules.SeriesComplete),
        (2, 30, PFIZER, [held(1, 0, vaccine="Moderna")], rules.VaccineMismatch),
        (2, 30, PFIZER, [held(1, 0, vaccine="PFIZER")], None),  # names compared ignoring case
        (1, 0, PFIZER, [held(2, 10)], rules.DoseInterval),  # dose 2 held too soon after this dose 1
        (1, 0, PFIZER, [held(2, 21)], None),
        (1, 0, PFIZER, [held(2, 10, status="administered")], None),  # a given dose 2 is not moved
        (2, 0, JANSSEN, [], rules.SeriesComplete),  # one dose only
    ],
)
def test_check_series(dose, days, vaccine, holding, refusal):
    holdings = {h.dose: h for h in holding}
    if refusal is None:
        rules.check_series("kim", dose, on(days), vaccine, holdings)
    else:
        with pytest.raises(refusal) as raised:
            rules.check_series("kim", dose, on(days), vaccine, holdings)
        assert raised.value.code == refusal.code and raised.value.exit_code == 1


def test_moving_a_booking_leaves_it_out_of_its_own_series():
    """reschedule: the dose 1 being moved does not stop its own new day."""
    holdings = {1: held(1, 0, number=7), 2: held(2, 30, number=8)}
    rules.check_series("kim", 1, on(5), PFIZER, holdings, moving=7)
    with pytest.raises(rules.DoseInterval):
        rules.check_series("kim", 1, on(15), PFIZER, holdings, moving=7)  # 15 days before dose 2


def test_the_interval_refusal_names_the_earliest_day():
    with pytest.raises(rules.DoseInterval) as raised:
        rules.check_series("kim", 2, on(10), PFIZER, {1: held(1, 0)})
    assert "2027-03-22" in raised.value.message


def test_the_booking_decision_checks_the_day_then_the_series_then_a_dose_left():
    """check_booking: what every path that takes a dose decides, in `reserve`'s order."""
    with pytest.raises(rules.SlotInPast):  # past before anything else, even a series refusal
        rules.check_booking("kim", 2, slot_on(-1), PFIZER, {}, today=DAY, remaining=0)
    with pytest.raises(rules.DoseOrder):  # the series before a dose left
        rules.check_booking("kim", 2, slot_on(0), PFIZER, {}, today=DAY, remaining=0)
    with pytest.raises(rules.SoldOut) as raised:
        rules.check_booking("kim", 1, slot_on(0), PFIZER, {}, today=DAY, remaining=0)
    assert raised.value.details["user"] == "kim"
    assert "waitlist join --user kim" in explain(raised.value)
    rules.check_booking("kim", 1, slot_on(0), PFIZER, {}, today=DAY, remaining=1)
    rules.check_booking("kim", 1, slot_on(0), PFIZER, {}, today=DAY)  # None: the store's UPDATE checks
