"""Errors below the command line say what is wrong and carry their facts; only vaxres/cli/ tells
the user which `vaxres` command to run next (issue 25, item 2)."""

import ast
import datetime as dt
import importlib
import json
import pkgutil
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import vaxres
from vaxres.booking import (
    catalog_rules,
    eligibility_refusals,
    guardians,
    lifecycle,
    names,
    rules,
    waitlist,
    waitlist_rules,
    window_rules,
    windows,
)
from vaxres.booking.codes import SYSTEMS, InvalidCode
from vaxres.booking.dose_facts import LotExpired
from vaxres.booking.doses import SlotsChangedMeanwhile
from vaxres.booking.eligibility import Window
from vaxres.booking.model import HeldDose, ReservationRecord, SlotRecord, VaccineRecord
from vaxres.cli.hints import HINTS, explain
from vaxres.db.backup import BackupFailed
from vaxres.errors import InvalidTogether, VaxresError
from vaxres.imports.charset import NotUtf8
from vaxres.imports.report import ImportSummary, InvalidRows
from vaxres.outbox.retry import MessageNotFound, NotFailed
from vaxres.validate import DaysBackwards

PACKAGE = Path(vaxres.__file__).parent
DAY = dt.date(2027, 3, 1)
SLOT = SlotRecord(3, DAY, "Seoul", "Pfizer", 2, 0)
PFIZER = VaccineRecord("Pfizer", (), 2, 21)
HELD = HeldDose(7, 1, "reserved", DAY, "Pfizer")


def shell_commands_in(source: str) -> list[tuple[int, str]]:
    """The string constants (docstrings aside) that name a `vaxres ...` command."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "`vaxres " in node.value
        and id(node) not in docstrings
    ]


def test_no_string_outside_the_cli_tells_the_user_to_run_a_vaxres_command():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] == "cli":
            continue
        if hits := shell_commands_in(path.read_text(encoding="utf-8")):
            found[str(path.relative_to(PACKAGE))] = hits
    assert not found


def test_the_scan_finds_a_planted_command_and_skips_docstrings():
    planted = '"""See `vaxres mypage`."""\nx = f"held; see `vaxres mypage {user}`"\n'
    assert [line for line, _text in shell_commands_in(planted)] == [2]


WINDOW = Window(
    id=1,
    name="18-49",
    vaccine="Pfizer",
    vaccine_key="pfizer",
    dose=1,
    born_from=dt.date(1972, 1, 1),
    born_to=dt.date(2003, 12, 31),
    age_min=None,
    age_max=None,
    age_on=None,
    groups=(),
    opens_at=dt.datetime(2021, 8, 9, 11, tzinfo=dt.UTC),
    closes_at=dt.datetime(2021, 8, 19, 9, tzinfo=dt.UTC),
    zone=ZoneInfo("Asia/Seoul"),
    rotation="birth-digit",
    each=(dt.time(20), dt.time(18)),
)


def refusals() -> list[VaxresError]:
    booking = ReservationRecord.in_slot(
        SLOT,
        reservation_id=12,
        user="kim",
        dose=1,
        status="reserved",
        reserved_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    return [
        LotExpired("EW0182", DAY, DAY + dt.timedelta(days=1)),
        LotExpired(None, DAY, DAY + dt.timedelta(days=1)),
        InvalidCode(SYSTEMS["cvx"], "abc", "must be a CVX code: 1 to 3 digits, such as 208"),
        rules.DuplicateSlot(DAY, "Seoul", "Pfizer", 3),
        rules.DuplicateSlot(DAY, "Seoul", "Pfizer", None),
        rules.CapacityBelowBooked(3, 2, 1),
        rules.SoldOut(SLOT),
        rules.SoldOut(SLOT, "kim", 2),
        rules.SlotInPast.of_slot(SLOT),
        rules.SlotInPast.of_slot_update(SLOT),
        rules.SlotInPast.of_date(DAY),
        rules.SlotInPast.of_reservation(booking, "cancelled"),
        rules.AlreadyReserved("kim", 1, 12),
        rules.AlreadyReserved("kim", 1, None),
        rules.AlreadyReserved("kim", 1, 12, administered=True),
        rules.SlotNotFound(9, to_book=True),
        rules.SlotNotFound(9),
        rules.NoSlotNamed(DAY, "Seoul", "Pfizer"),
        rules.DoseOrder("kim", 2),
        rules.VaccineMismatch("kim", 2, "Moderna", HELD),
        rules.DoseInterval("kim", 2, PFIZER, HELD, earliest=DAY + dt.timedelta(days=21)),
        rules.SeriesComplete(3, PFIZER),
        rules.AlreadyCancelled(12, None),
        rules.NotReserved(12, "administered"),
        rules.EarlierDoseNotGiven(booking),
        rules.TooEarly(12, DAY),
        rules.ChangedMeanwhile(12),
        rules.NotOwner(12, "lee"),
        rules.ReservationNotFound(12),
        catalog_rules.UnknownVaccine("Sputnik", ["Pfizer"]),
        catalog_rules.VaccineNotFound("Sputnik"),
        catalog_rules.DuplicateVaccine("pfizer", "Pfizer"),
        catalog_rules.AliasTaken("comirnaty", "Pfizer"),
        catalog_rules.DosesInUse("Pfizer", 1, 2),
        names.LooksLikeVaccine("vaccine", "Pfizеr", "Pfizer", PFIZER),
        names.MixedScripts("hospital", "Sеoul", "Sеoul", ["latin", "cyrillic"]),
        names.UnknownLookalike("Pfizеr", "Pfizer", PFIZER),
        lifecycle.ClockDisagrees(
            DAY,
            dt.datetime(2027, 3, 2, 0, 10, tzinfo=dt.UTC),
            dt.datetime(2027, 3, 1, 23, 0, tzinfo=dt.UTC),
            dt.UTC,
        ),
        waitlist.AlreadyWaiting("kim", 1, 4),
        waitlist.NotEntryOwner(4, "lee"),
        waitlist.EntryNotFound(4),
        guardians.GuardianRequired("kim", 17, DAY, adult_on=DAY + dt.timedelta(days=30)),
        eligibility_refusals.NotOpenYet("kim", "Pfizer", 1, WINDOW, WINDOW.opens_at),
        eligibility_refusals.NotEligible("kim", "Pfizer", 1, [WINDOW]),
        eligibility_refusals.WindowClosed("kim", "Pfizer", 1, WINDOW),
        eligibility_refusals.BirthDateUnknown("kim", "Pfizer", 1, WINDOW),
        windows.DuplicateWindow("18-49"),
        windows.WindowNotFound("18-49"),
        window_rules.BirthDaysBackwards(DAY, DAY - dt.timedelta(days=1)),
        window_rules.AgesBackwards(50, 18),
        window_rules.AgeDayWithoutAges(DAY),
        window_rules.ClosesBeforeOpens("2027-08-09 20:00", "2027-08-09 19:00"),
        window_rules.RotationWithoutEach("birth-digit"),
        window_rules.EachWithoutRotation("20:00-18:00"),
        window_rules.ClosedBeforeOpening(WINDOW, WINDOW.opens_at - dt.timedelta(hours=1)),
        waitlist_rules.WaitingDaysBackwards(DAY, DAY - dt.timedelta(days=1)),
        MessageNotFound(5, 6),
        NotFailed("only failed messages can be retried; not failed: 5 (pending)", details={"ids": [5]}),
        InvalidRows(ImportSummary("slots", "slots.csv", False, rows=3, invalid=1)),
        NotUtf8(7),
        BackupFailed(Path("/tmp/vaxres.db.bak"), "No space left on device"),
    ]


@pytest.mark.parametrize("error", refusals(), ids=lambda error: type(error).__name__)
def test_each_refusal_carries_json_details_and_a_sentence_without_a_command(error):
    assert json.loads(json.dumps(error.details)) == error.details
    assert error.details, "the facts a caller needs to act"
    assert "vaxres " not in error.message
    assert explain(error).startswith(error.message)


@pytest.mark.parametrize(
    "error",
    [error for error in refusals() if isinstance(error, InvalidTogether)] + [DaysBackwards(DAY, DAY)],
    ids=lambda error: type(error).__name__,
)
def test_values_wrong_together_name_each_option_their_sentence_names(error):
    """The API says its field for each of them (tests/test_api.py): none may be left out."""
    assert set(re.findall(r"--[a-z-]+", error.message)) == set(error.options)


def error_classes() -> set[type[VaxresError]]:
    """Every kind of error the package defines (its modules imported)."""
    for module in pkgutil.walk_packages([str(PACKAGE)], "vaxres."):
        if not module.name.startswith("vaxres._migrations") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    kinds: set[type[VaxresError]] = set()
    pending = [VaxresError]
    while pending:
        kind = pending.pop()
        kinds.add(kind)
        pending.extend(kind.__subclasses__())
    return kinds


def test_every_booking_refusal_is_among_those_checked_for_details():
    """A new refusal in booking/ is checked above for its details and its sentence."""
    checked = {type(error) for error in refusals()}
    booking = {kind for kind in error_classes() if kind.__module__.startswith("vaxres.booking.")}
    busy = {SlotsChangedMeanwhile}  # exit 75, try again: no facts to give
    assert booking - busy - checked == set()


def test_the_command_line_adds_the_next_step_from_the_details():
    assert explain(rules.AlreadyReserved("kim", 1, 12)) == (
        "kim already holds reservation 12 for dose 1; cancel it first with `vaxres cancel 12` to book another"
    )
    assert explain(rules.SoldOut(SLOT, "kim", 2)).endswith(
        "or wait for a freed dose: `vaxres waitlist join --user kim --vaccine Pfizer --hospital Seoul "
        "--from 2027-03-01 --to 2027-03-01 --dose 2`"
    )
    assert explain(rules.DoseOrder("kim", 2)) == rules.DoseOrder("kim", 2).message  # nothing to run


def test_errors_that_share_a_code_get_only_the_hints_their_facts_support():
    """A code names a kind of refusal, not one class: each hint checks the facts it is built from."""
    lookalike = names.UnknownLookalike("Pfizеr", "Pfizer", PFIZER)
    assert lookalike.code == catalog_rules.UnknownVaccine("Sputnik", []).code
    assert explain(lookalike) == lookalike.message  # it already asks "did you mean Pfizer?"
    assert explain(waitlist.NotEntryOwner(4, "lee")) == waitlist.NotEntryOwner(4, "lee").message
    assert explain(rules.NotOwner(12, "lee")).endswith("(check the number with `vaxres mypage lee`)")
    assert explain(SlotsChangedMeanwhile()) == SlotsChangedMeanwhile().message
    assert explain(rules.ChangedMeanwhile(12)).endswith(": see `vaxres show 12` and try again")


def test_every_hint_is_keyed_by_a_real_error_code():
    assert set(HINTS) <= {kind.code for kind in error_classes()}
