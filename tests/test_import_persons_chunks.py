"""`vaxres import persons` across chunks (issue 20): a guardian is linked whichever chunk holds
their row, before or after the ward's, new or already registered, on both backends."""

import json

import pytest

from tests.helpers import years_ago

pytestmark = pytest.mark.usefixtures("backend", "shared_id_key", "both_readings")


@pytest.mark.parametrize("chunk", [None, 3, 1])
def test_guardians_are_linked_whichever_chunk_holds_their_row(cli, tmp_path, monkeypatch, chunk):
    if chunk:
        monkeypatch.setattr("vaxres.imports.run.PERSON_CHUNK", chunk)
    for person, age in (("home", 40), ("old", 5), ("old2", 6), ("g9", 50)):
        assert cli("person", "add", person, "--name", person, "--birth-date", years_ago(age)).exit_code == 0
    adult, child = years_ago(40), years_ago(5)
    rows = [
        f"w1,W1,{child},g1",  # 2: the guardian's row two chunks later (of 3)
        f"w3,W3,{child},g2",  # 3: later in the same chunk
        f"g2,G2,{adult},",  # 4
        f"w2,W2,{child},g2",  # 5: earlier, in an earlier chunk
        f"g1,G1,{adult},",  # 6
        f"w4,W4,{child},home",  # 7: registered before the import
        f"old,Old,{child},g1",  # 8: registered, the guardian's row earlier
        f"old2,Old2,{years_ago(6)},g9",  # 9: registered, the guardian registered too but on a later row
        f"g9,g9,{years_ago(50)},",  # 10: unchanged
        f"w5,W5,{child},w1x",  # 11: refused, no such person
    ]
    path = tmp_path / "people.csv"
    path.write_text("id,name,birth_date,guardian\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done = cli("import", "persons", str(path), "--json")
    assert done.exit_code == 1, done.stderr  # a row refused
    summary = json.loads(done.stdout)
    assert (summary["registered"], summary["updated"], summary["unchanged"], summary["refused"]) == (6, 2, 1, 1)
    found = {p["id"]: p["guardian"] for p in cli.json("person", "list")["people"]}
    assert found == {
        **{"w1": "g1", "w3": "g2", "w2": "g2", "w4": "home", "old": "g1", "old2": "g9"},
        **{"g1": None, "g2": None, "g9": None, "home": None},
    }
    for ward in ("old", "old2"):
        assert [(e["event"], e["payload"]["fields"]) for e in cli.json("log", "--person", ward)][-1] == (
            "PersonUpdated",
            ["guardian", "name"],
        )


@pytest.mark.parametrize("limit", [None, 0])
def test_repeated_numbers_are_refused_whether_the_filter_or_the_index_finds_them(cli, tmp_path, monkeypatch, limit):
    """The first pass's filter names the numbers perhaps seen twice; past its limit, decide()
    indexes every number instead. Either way the same rows are refused, naming the same row."""
    if limit is not None:
        monkeypatch.setattr("vaxres.imports.person_rows.SeenNumbers.REPEATS_LIMIT", limit)
    rows = [
        "a,9001011234567",  # 2
        "b,8802022345678",  # 3
        "c,9001011234567",  # 4: line 2's
        "a,7703031234567",  # 5: the id of line 2, refused as such
        "d,7703031234567",  # 6: the number of line 5, a refused row, still its
        "e,8802022345678",  # 7: line 3's
        "f,6604041234567",  # 8
    ]
    path = tmp_path / "people.csv"
    path.write_text("id,rrn\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done = cli("import", "persons", str(path), "--json")
    assert done.exit_code == 1, done.stderr
    summary = json.loads(done.stdout)
    assert [(e["line"], e["code"], e["reason"]) for e in summary["errors"]] == [
        (4, "duplicate_identity", "the resident registration number 900101-1****** is given on line 2 to a already; one number, one person"),
        (5, "duplicate_person", "a is on line 2 of the file already; give one row per person"),
        (6, "duplicate_identity", "the resident registration number 770303-1****** is given on line 5 to a already; one number, one person"),
        (7, "duplicate_identity", "the resident registration number 880202-2****** is given on line 3 to b already; one number, one person"),
    ]  # fmt: skip
    assert summary["registered"] == 3
