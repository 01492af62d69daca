"""The vaccine catalog and the series rules, as a user meets them: `vaxres vaccine ...`, slots
named by alias, and dose order, vaccine, interval and series length on every booking."""

import datetime as dt
import json
import unicodedata

import pytest

from tests.helpers import count_rows, future, invariant_violations, snapshot

pytestmark = pytest.mark.usefixtures("backend")

CODE_FIELDS = ("cvx", "snomed", "atc", "eu_product", "eu_holder", "mvx")


def _codes(*values: str) -> dict[str, str]:
    return {**dict(zip(CODE_FIELDS, values, strict=True)), "target_disease": "840539006"}


DEFAULT_CATALOG = [
    {"name": "AstraZeneca", "aliases": ["Vaxzevria", "아스트라제네카"], "doses": 2, "min_interval_days": 56,
     "codes": _codes("210", "29061000087103", "J07BN02", "EU/1/21/1529", "ORG-100001699", "ASZ")},
    {"name": "Janssen", "aliases": ["얀센"], "doses": 1, "min_interval_days": 0,
     "codes": _codes("212", "29061000087103", "J07BN02", "EU/1/20/1525", "ORG-100001417", "JSN")},
    {"name": "Moderna", "aliases": ["Spikevax", "모더나"], "doses": 2, "min_interval_days": 28,
     "codes": _codes("207", "1119349007", "J07BN01", "EU/1/20/1507", "ORG-100031184", "MOD")},
    {"name": "Novavax", "aliases": ["Nuvaxovid", "노바백스"], "doses": 2, "min_interval_days": 21,
     "codes": _codes("211", "1162643001", "J07BN04", "EU/1/21/1618", "ORG-100032020", "NVX")},
    {"name": "Pfizer", "aliases": ["Comirnaty", "화이자"], "doses": 2, "min_interval_days": 21,
     "codes": _codes("208", "1119349007", "J07BN01", "EU/1/20/1528", "ORG-100030215", "PFR")},
]  # fmt: skip


def add_slot(cli, days: int, vaccine: str = "Pfizer", hospital: str = "Seoul", quantity: int = 5) -> int:
    return cli.json(
        "slot", "add", "--date", future(days), "--hospital", hospital, "--vaccine", vaccine, "--quantity", str(quantity)
    )["id"]


def refused(cli, *args: str) -> tuple[int, dict]:
    result = cli(*args, "--json")
    assert result.stdout == ""
    return result.exit_code, json.loads(result.stderr)


def test_a_new_store_has_the_default_catalog(cli):
    assert cli.json("vaccine", "list") == DEFAULT_CATALOG
    table = cli("vaccine", "list").stdout
    for text in ("Vaccines", "Pfizer", "Comirnaty, 화이자", "21 days", "Janssen"):
        assert text in table


@pytest.mark.parametrize("spelling", ["화이자", "COMIRNATY", " pfizer ", unicodedata.normalize("NFD", "화이자")])
def test_a_slot_named_by_an_alias_stores_the_catalog_name(cli, spelling):
    slot = cli.json("slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", spelling, "--quantity", "2")
    assert slot["vaccine"] == "Pfizer"
    code, error = refused(
        cli, "slot", "add", "--date", future(), "--hospital", "seoul", "--vaccine", "Pfizer", "--quantity", "2"
    )
    assert (code, error["code"]) == (1, "duplicate_slot")
    booked = cli.json("reserve", "--user", "kim", "--date", future(), "--hospital", "Seoul", "--vaccine", "comirnaty")
    assert booked["slot_id"] == slot["id"]
    assert [s["id"] for s in cli.json("slot", "list", "--vaccine", "화이자")] == [slot["id"]]


def test_an_unknown_vaccine_is_invalid_and_names_the_known_ones(cli, db_path):
    code, error = refused(
        cli, "slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "Sputnik", "--quantity", "2"
    )
    assert (code, error["code"]) == (2, "unknown_vaccine")
    assert error["error"] == (
        "vaccine 'Sputnik' is not in the catalog (known: AstraZeneca, Janssen, Moderna, Novavax, Pfizer); "
        "add it with `vaxres vaccine add NAME --doses N`"
    )
    assert count_rows(db_path, "slot") == 0 and count_rows(db_path, "outbox") == 0
    code, error = refused(
        cli, "reserve", "--user", "kim", "--date", future(), "--hospital", "Seoul", "--vaccine", "Sputnik"
    )
    assert (code, error["code"]) == (2, "unknown_vaccine")


def test_vaccine_add_and_update(cli):
    added = cli.json(
        "vaccine",
        "add",
        "Sputnik V",
        "--doses",
        "2",
        "--min-interval",
        "21",
        "--alias",
        "Спутник",
        "--alias",
        "Gam-COVID-Vac",
    )
    assert added == {
        "name": "Sputnik V", "aliases": ["Gam-COVID-Vac", "Спутник"], "doses": 2, "min_interval_days": 21, "codes": {},
    }  # fmt: skip
    assert (
        cli.json("slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "спутник", "--quantity", "1")[
            "vaccine"
        ]
        == "Sputnik V"
    )
    changed = cli.json("vaccine", "update", "gam-covid-vac", "--doses", "3", "--alias", "Sputnik")
    assert changed == {
        "name": "Sputnik V",
        "aliases": ["Gam-COVID-Vac", "Sputnik", "Спутник"],
        "doses": 3,
        "min_interval_days": 21,
        "codes": {},
    }
    assert cli("vaccine", "add", "Single", "--doses", "1").stdout == "Added Single: 1 dose.\n"
    assert cli("vaccine", "update", "Pfizer", "--alias", "BNT162b2").stdout == (
        "Updated Pfizer: 2 doses, at least 21 days apart; also called BNT162b2, Comirnaty, 화이자.\n"
    )


@pytest.mark.parametrize(
    "args, exit_code, code",
    [
        (["vaccine", "add", "comirnaty", "--doses", "1"], 1, "duplicate_vaccine"),
        (["vaccine", "add", "New", "--doses", "1", "--alias", "모더나"], 1, "alias_taken"),
        (["vaccine", "update", "Pfizer", "--alias", "Spikevax"], 1, "alias_taken"),
        (["vaccine", "update", "Sputnik", "--doses", "2"], 3, "vaccine_not_found"),
        (["vaccine", "add", "New", "--doses", "2"], 2, "invalid_input"),
        (["vaccine", "add", "New", "--doses", "11"], 2, "invalid_input"),
        (["vaccine", "update", "Janssen", "--doses", "2"], 2, "invalid_input"),
    ],
)
def test_vaccine_refusals_change_nothing(cli, args, exit_code, code):
    before = cli.json("vaccine", "list")
    got, error = refused(cli, *args)
    assert (got, error["code"]) == (exit_code, code)
    assert cli.json("vaccine", "list") == before


def test_dose_2_needs_dose_1(cli, db_path):
    later = add_slot(cli, 30)
    before = snapshot(db_path)
    code, error = refused(cli, "reserve", "--user", "kim", "--slot", str(later), "--dose", "2")
    assert (code, error["code"]) == (1, "dose_order")
    assert error["error"] == "kim holds no dose 1 yet, so dose 2 cannot be booked; book dose 1 first"
    assert snapshot(db_path) == before


def test_dose_2_is_the_same_vaccine(cli, db_path):
    first = add_slot(cli, 1)
    moderna = add_slot(cli, 40, vaccine="Moderna")
    dose_1 = cli.json("reserve", "--user", "kim", "--slot", str(first))
    before = snapshot(db_path)
    code, error = refused(cli, "reserve", "--user", "kim", "--slot", str(moderna), "--dose", "2")
    assert (code, error["code"]) == (1, "vaccine_mismatch")
    assert error["error"] == (
        f"kim's series is Pfizer (dose 1 on {future(1)}, reservation {dose_1['id']}), so dose 2 must be Pfizer too, not Moderna"
    )
    assert snapshot(db_path) == before


def test_dose_2_waits_the_minimum_interval_and_the_message_gives_the_earliest_date(cli, db_path):
    first = add_slot(cli, 1)
    too_soon = add_slot(cli, 21)  # 20 days after dose 1
    just_right = add_slot(cli, 22)
    cli.json("reserve", "--user", "kim", "--slot", str(first))
    before = snapshot(db_path)
    code, error = refused(cli, "reserve", "--user", "kim", "--slot", str(too_soon), "--dose", "2")
    assert (code, error["code"]) == (1, "dose_interval")
    assert error["error"] == (
        f"dose 2 of Pfizer needs 21 days after dose 1 ({future(1)}); the earliest allowed date for kim is {future(22)}"
    )
    assert snapshot(db_path) == before
    assert cli.json("reserve", "--user", "kim", "--slot", str(just_right), "--dose", "2")["dose"] == 2


def test_dose_1_and_dose_2_cannot_share_a_day(cli):
    slot = add_slot(cli, 3)
    cli.json("reserve", "--user", "kim", "--slot", str(slot))
    code, error = refused(cli, "reserve", "--user", "kim", "--slot", str(slot), "--dose", "2")
    assert (code, error["code"]) == (1, "dose_interval")


def test_no_dose_beyond_the_series(cli):
    janssen = add_slot(cli, 1, vaccine="Janssen")
    later_janssen = add_slot(cli, 60, vaccine="얀센", hospital="Busan")
    cli.json("reserve", "--user", "kim", "--slot", str(janssen))
    code, error = refused(cli, "reserve", "--user", "kim", "--slot", str(later_janssen), "--dose", "2")
    assert (code, error["code"]) == (1, "series_complete")
    assert error["error"] == "Janssen's primary series has 1 dose; there is no dose 2"
    first, second, third = (
        add_slot(cli, 1, hospital="P"),
        add_slot(cli, 30, hospital="P"),
        add_slot(cli, 60, hospital="P"),
    )
    cli.json("reserve", "--user", "lee", "--slot", str(first))
    cli.json("reserve", "--user", "lee", "--slot", str(second), "--dose", "2")
    code, error = refused(cli, "reserve", "--user", "lee", "--slot", str(third), "--dose", "3")
    assert (code, error["code"]) == (1, "series_complete")


def test_cancelling_dose_1_cancels_the_later_doses_too(cli, db_path):
    first, second = add_slot(cli, 1), add_slot(cli, 30)
    dose_1 = cli.json("reserve", "--user", "kim", "--slot", str(first))
    dose_2 = cli.json("reserve", "--user", "kim", "--slot", str(second), "--dose", "2")
    result = cli.json("cancel", str(dose_1["id"]))
    assert (result["id"], result["status"]) == (dose_1["id"], "cancelled")
    assert [(b["id"], b["dose"], b["status"]) for b in result["also_cancelled"]] == [(dose_2["id"], 2, "cancelled")]
    assert {s["id"]: s["remaining"] for s in cli.json("slot", "list")} == {first: 5, second: 5}
    cancelled = [
        (m["event"], m["correlation_id"]) for m in cli.json("outbox", "list") if m["event"] == "ReservationCancelled"
    ]
    assert cancelled == [("ReservationCancelled", dose_1["id"]), ("ReservationCancelled", dose_2["id"])]
    lines = cli("reserve", "--user", "kim", "--slot", str(first)).stdout
    assert lines.startswith("Reserved")
    human = cli("cancel", "3").stdout.splitlines()
    assert human == [f"Cancelled 3 for kim: Pfizer (dose 1) at Seoul on {future(1)}. Slot {first} has 5 doses left."]
    assert invariant_violations(db_path) == []


def test_cancelling_dose_2_keeps_dose_1(cli):
    first, second = add_slot(cli, 1), add_slot(cli, 30)
    dose_1 = cli.json("reserve", "--user", "kim", "--slot", str(first))
    dose_2 = cli.json("reserve", "--user", "kim", "--slot", str(second), "--dose", "2")
    assert cli.json("cancel", str(dose_2["id"]))["also_cancelled"] == []
    assert [(r["id"], r["status"]) for r in cli.json("mypage", "kim")["reservations"]] == [
        (dose_2["id"], "cancelled"),
        (dose_1["id"], "reserved"),
    ]


def test_a_rebooked_dose_1_stays_the_interval_before_an_active_dose_2(cli, time_machine):
    """Dose 1 missed (no-show) while dose 2 is still booked: a new dose 1 must leave room for dose 2."""
    today = dt.date.today()
    dose_2_day, latest = future(40), (today + dt.timedelta(days=19)).isoformat()
    first, second = add_slot(cli, 1), add_slot(cli, 40)
    cli.json("reserve", "--user", "kim", "--slot", str(first))
    dose_2 = cli.json("reserve", "--user", "kim", "--slot", str(second), "--dose", "2")
    time_machine.move_to(today + dt.timedelta(days=3))
    assert cli.json("close-day")["no_shows"] == 1
    too_late, in_time = add_slot(cli, 30, hospital="Busan"), add_slot(cli, 15, hospital="Busan")
    code, error = refused(cli, "reserve", "--user", "kim", "--slot", str(too_late))
    assert (code, error["code"]) == (1, "dose_interval")
    assert error["error"] == (
        f"dose 1 of Pfizer must come 21 days before kim's dose 2 on {dose_2_day}, reservation {dose_2['id']}; "
        f"the latest allowed date is {latest}"
    )
    assert cli.json("reserve", "--user", "kim", "--slot", str(in_time))["dose"] == 1


def test_a_series_is_not_shortened_below_a_dose_someone_holds(cli):
    first, second = add_slot(cli, 1, vaccine="Moderna"), add_slot(cli, 40, vaccine="Moderna")
    cli.json("reserve", "--user", "kim", "--slot", str(first))
    dose_2 = cli.json("reserve", "--user", "kim", "--slot", str(second), "--dose", "2")
    code, error = refused(cli, "vaccine", "update", "Moderna", "--doses", "1")
    assert (code, error["code"]) == (1, "doses_in_use")
    assert (
        error["error"]
        == "1 person holds a dose of Moderna above 1; cancel those bookings first, or keep the series at its length"
    )
    cli.json("cancel", str(dose_2["id"]))
    assert cli.json("vaccine", "update", "Moderna", "--doses", "1")["doses"] == 1
    code, error = refused(cli, "vaccine", "update", "Moderna")
    assert (code, error["code"]) == (2, "invalid_input")
