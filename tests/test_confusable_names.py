"""Vaccine names that read alike (issue: look-alike names were accepted by `vaccine add`): a name
or alias that reads as another vaccine's (a Cyrillic е, full-width letters, "rn" for "m") is
refused with exit 1 naming that vaccine; a word mixing scripts is invalid (exit 2); an unknown
name that reads as a catalog one gets a hint naming it instead of `vaccine add`."""

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.helpers import count_rows, future, snapshot

pytestmark = pytest.mark.usefixtures("backend")

CYRILLIC_PFIZER = "Pfiz\u0435r"  # е: U+0435 CYRILLIC SMALL LETTER IE
FULL_WIDTH_PFIZER = "Ｐｆｉｚｅｒ"
# Latin letter → a Cyrillic letter drawn the same (confusables.txt maps each to the Latin one).
HOMOGLYPHS = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440", "x": "\u0445", "y": "\u0443"}


def refused(cli, *args: str) -> tuple[int, dict]:
    result = cli(*args, "--json")
    assert result.stdout == ""
    return result.exit_code, json.loads(result.stderr)


def one_error(cli, *args: str) -> tuple[int, str]:
    """The exit code and the one stderr line of a refused command (nothing on stdout)."""
    result = cli(*args)
    assert result.stdout == "" and result.stderr.count("\n") == 1, (result.stdout, result.stderr)
    return result.exit_code, result.stderr


@pytest.mark.one_backend
def test_a_cyrillic_look_alike_of_a_name_is_refused_and_names_the_vaccine(cli, db_path):
    catalog, before = cli.json("vaccine", "list"), snapshot(db_path)
    assert one_error(cli, "vaccine", "add", CYRILLIC_PFIZER, "--doses", "1") == (
        1,
        (
            f"Error: vaccine '{CYRILLIC_PFIZER}' looks like the existing vaccine Pfizer (U+0435 CYRILLIC SMALL LETTER IE); "
            "use Pfizer, or choose a distinct name\n"
        ),
    )
    code, error = refused(cli, "vaccine", "add", CYRILLIC_PFIZER, "--doses", "1")
    assert (code, error["code"]) == (1, "looks_like_vaccine")
    assert cli.json("vaccine", "list") == catalog and snapshot(db_path) == before
    assert count_rows(db_path, "vaccine") == len(catalog)


@pytest.mark.one_backend
def test_a_full_width_look_alike_is_refused(cli):
    catalog = cli.json("vaccine", "list")
    assert one_error(cli, "vaccine", "add", FULL_WIDTH_PFIZER, "--doses", "1") == (
        1,
        (
            f"Error: vaccine '{FULL_WIDTH_PFIZER}' looks like the existing vaccine Pfizer (U+FF30 FULLWIDTH LATIN CAPITAL "
            "LETTER P, U+FF46 FULLWIDTH LATIN SMALL LETTER F and 4 more); use Pfizer, or choose a distinct name\n"
        ),
    )
    assert cli.json("vaccine", "list") == catalog


@pytest.mark.one_backend
def test_look_alikes_made_of_ascii_and_of_an_alias_are_refused(cli):
    assert one_error(cli, "vaccine", "add", "Modema", "--doses", "1") == (
        1,
        "Error: vaccine 'Modema' looks like the existing vaccine Moderna; use Moderna, or choose a distinct name\n",
    )
    assert one_error(cli, "vaccine", "add", "Ｃｏｍｉｒｎａｔｙ", "--doses", "1") == (
        1,
        (
            "Error: vaccine 'Ｃｏｍｉｒｎａｔｙ' looks like 'Comirnaty', an alias of the existing vaccine Pfizer (U+FF23 "
            "FULLWIDTH LATIN CAPITAL LETTER C, U+FF4F FULLWIDTH LATIN SMALL LETTER O and 7 more); use Pfizer, "
            "or choose a distinct name\n"
        ),
    )


@pytest.mark.parametrize("spelling", ["Pfizer", "PFIZER", "  pfizer ", "comirnaty", "화이자"])
def test_case_and_space_variants_stay_duplicates(cli, spelling):
    code, error = refused(cli, "vaccine", "add", spelling, "--doses", "1")
    assert (code, error["code"]) == (1, "duplicate_vaccine")


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "name, word, scripts",
    [
        ("Kov\u0430x", "Kov\u0430x", "Latin and Cyrillic"),  # а: Cyrillic, no Kovax in the catalog
        ("Спутник-V", "Спутник-V", "Cyrillic and Latin"),
        ("Flu Vaccinε 2026", "Vaccinε", "Latin and Greek"),
    ],
)
def test_a_word_mixing_scripts_is_invalid(cli, db_path, name, word, scripts):
    before = snapshot(db_path)
    assert one_error(cli, "vaccine", "add", name, "--doses", "1") == (
        2,
        f"Error: vaccine '{name}' mixes {scripts} letters in the word '{word}'; write each word in one script\n",
    )
    code, error = refused(cli, "vaccine", "add", name, "--doses", "1")
    assert (code, error["code"]) == (2, "mixed_scripts")
    assert snapshot(db_path) == before


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "name",
    [
        "Moderna XBB",  # a distinct name, even one that starts with another's
        "Pfizer BioNTech",
        "스카이코비원",  # wholly Hangul
        "Спутник V",  # words in different scripts
        "SKYCovione 스카이코비원",
        "新型コロナワクチン",  # Han and Katakana in one word, as Japanese writes
        "COVID-19 Vaccine 2",  # digits, hyphens and spaces go with any script
    ],
)
def test_distinct_names_are_still_accepted(cli, name):
    added = cli.json("vaccine", "add", name, "--doses", "1")
    assert added["name"] == name
    assert name in [v["name"] for v in cli.json("vaccine", "list")]


@pytest.mark.one_backend
def test_look_alike_aliases_are_refused(cli, db_path):
    before = snapshot(db_path)
    assert one_error(cli, "vaccine", "add", "New", "--doses", "1", "--alias", "C\u043emirnaty") == (
        1,
        (
            "Error: alias 'C\u043emirnaty' looks like 'Comirnaty', an alias of the existing vaccine Pfizer "
            "(U+043E CYRILLIC SMALL LETTER O); use Pfizer, or choose a distinct name\n"
        ),
    )
    assert one_error(cli, "vaccine", "update", "Moderna", "--alias", CYRILLIC_PFIZER) == (
        1,
        (
            f"Error: alias '{CYRILLIC_PFIZER}' looks like the existing vaccine Pfizer (U+0435 CYRILLIC SMALL LETTER IE); "
            "use Pfizer, or choose a distinct name\n"
        ),
    )
    code, error = refused(cli, "vaccine", "update", "Moderna", "--alias", "Ｐｆｉｚｅｒ")
    assert (code, error["code"]) == (1, "looks_like_vaccine")
    code, error = refused(cli, "vaccine", "update", "Moderna", "--alias", "Mod\u0435rna X")
    assert (code, error["code"]) == (2, "mixed_scripts")
    assert snapshot(db_path) == before
    assert [v["aliases"] for v in cli.json("vaccine", "list") if v["name"] in ("Moderna", "Pfizer")] == [
        ["Spikevax", "모더나"],
        ["Comirnaty", "화이자"],
    ]


@pytest.mark.one_backend
def test_a_look_alike_of_the_vaccines_own_name_may_be_its_alias(cli):
    """Both spellings name the one vaccine, so nothing is ambiguous: a full-width alias lets a
    spreadsheet written in full-width letters name Pfizer."""
    changed = cli.json("vaccine", "update", "Pfizer", "--alias", FULL_WIDTH_PFIZER)
    assert changed["aliases"] == ["Comirnaty", "화이자", FULL_WIDTH_PFIZER]
    slot = cli.json(
        "slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "ｐｆｉｚｅｒ", "--quantity", "1"
    )
    assert slot["vaccine"] == "Pfizer"


@pytest.mark.one_backend
def test_slot_add_with_a_look_alike_points_to_the_vaccine(cli, db_path):
    before = snapshot(db_path)
    args = ("slot", "add", "--date", future(), "--hospital", "Seoul", "--quantity", "2", "--vaccine")
    assert one_error(cli, *args, CYRILLIC_PFIZER) == (
        2,
        (
            f"Error: vaccine '{CYRILLIC_PFIZER}' is not in the catalog, but looks like the existing vaccine Pfizer "
            "(U+0435 CYRILLIC SMALL LETTER IE); did you mean Pfizer?\n"
        ),
    )
    code, error = refused(cli, *args, "C\u043emirnaty")
    assert (code, error["code"]) == (2, "unknown_vaccine")
    assert error["error"] == (
        "vaccine 'C\u043emirnaty' is not in the catalog, but looks like 'Comirnaty', an alias of the existing vaccine "
        "Pfizer (U+043E CYRILLIC SMALL LETTER O); did you mean Pfizer?"
    )
    assert "vaccine add" not in error["error"]
    code, error = refused(
        cli, "reserve", "--user", "kim", "--date", future(), "--hospital", "Seoul", "--vaccine", "Modema"
    )
    assert (code, error["code"]) == (2, "unknown_vaccine")
    assert (
        error["error"]
        == "vaccine 'Modema' is not in the catalog, but looks like the existing vaccine Moderna; did you mean Moderna?"
    )
    assert snapshot(db_path) == before


@pytest.mark.one_backend
def test_vaccine_update_of_a_look_alike_points_to_the_vaccine(cli):
    code, error = refused(cli, "vaccine", "update", CYRILLIC_PFIZER, "--doses", "3")
    assert (code, error["code"]) == (3, "vaccine_not_found")
    assert error["error"] == (
        f"there is no vaccine '{CYRILLIC_PFIZER}', but it looks like the existing vaccine Pfizer "
        "(U+0435 CYRILLIC SMALL LETTER IE); did you mean Pfizer?"
    )


def test_an_import_row_with_a_look_alike_gets_the_same_hint(cli, tmp_path, db_path):
    cli.json("vaccine", "list")  # the store, with its catalog
    before = snapshot(db_path)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        f"date,hospital,vaccine,quantity\n{future()},Seoul,Pfizer,3\n{future()},Seoul,{CYRILLIC_PFIZER},3\n",
        encoding="utf-8",
    )
    result = cli("import", "slots", str(plan), "--json")
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)["errors"]
    assert (error["line"], error["code"], error["reason"]) == (
        3,
        "unknown_vaccine",
        (
            "is not in the catalog, but looks like the existing vaccine Pfizer (U+0435 CYRILLIC SMALL LETTER IE); "
            "did you mean Pfizer?"
        ),
    )
    assert snapshot(db_path) == before


LATIN_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12).map(str.capitalize)


@pytest.mark.one_backend
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=LATIN_NAME, pick=st.integers(min_value=0, max_value=11))
def test_any_accepted_name_with_one_letter_swapped_for_a_homoglyph_is_refused(cli, name, pick):
    """Everything is drawn before the store is asked: the store outlives the examples, so a name
    added by one is a duplicate in the next (skipped), never a different draw."""
    swappable = [i for i, letter in enumerate(name) if letter in HOMOGLYPHS]
    assume(swappable)
    added = cli("vaccine", "add", name, "--doses", "1", "--json")
    assume(added.exit_code == 0)  # a name the catalog already has, or one that reads as one of its names
    at = swappable[pick % len(swappable)]
    look_alike = name[:at] + HOMOGLYPHS[name[at]] + name[at + 1 :]
    code, error = refused(cli, "vaccine", "add", look_alike, "--doses", "1")
    assert (code, error["code"]) == (1, "looks_like_vaccine")
    assert f"looks like the existing vaccine {name} (U+" in error["error"]
