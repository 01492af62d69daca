"""/v1/vaccines and /v1/windows: the catalog and the eligibility windows over HTTP, the same use
cases as `vaxres vaccine` and `vaxres window` (issue 22)."""

import pytest

from tests.helpers import future, query

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_vaccines_listed_added_and_updated(api, db_path):
    listed = api.call("GET", "/v1/vaccines", "reader")
    assert listed.status_code == 200 and "Janssen" in [v["name"] for v in listed.json()]
    body = {"name": "Valneva", "doses": 2, "min_interval": 21, "aliases": ["VLA"]}
    added = api.call("POST", "/v1/vaccines", key="vla-1", json=body)
    assert added.status_code == 201
    assert added.json() == {"name": "Valneva", "aliases": ["VLA"], "doses": 2, "min_interval_days": 21, "codes": {}}
    again = api.call("POST", "/v1/vaccines", key="vla-1", json=body)  # replayed, not added twice
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    duplicate = api.call("POST", "/v1/vaccines", json=body)
    assert duplicate.status_code == 409 and duplicate.headers["content-type"] == "application/problem+json"
    changed = api.call("PATCH", "/v1/vaccines/vla", json={"min_interval": 28, "aliases": ["VLA2001"]})
    assert changed.status_code == 200
    assert changed.json() == {
        "name": "Valneva",
        "aliases": ["VLA", "VLA2001"],
        "doses": 2,
        "min_interval_days": 28,
        "codes": {},
    }
    nothing = api.call("PATCH", "/v1/vaccines/Valneva", json={})
    assert nothing.status_code == 422 and nothing.json()["code"] == "invalid_input"
    unknown = api.call("PATCH", "/v1/vaccines/Nothing", json={"doses": 2})
    assert unknown.status_code == 404
    assert {row[0] for row in query(db_path, "SELECT actor FROM outbox")} == {"admin"}


def test_windows_added_listed_shown_closed_and_booking_follows_them(api):
    slot = api.slot(5, days=3)
    person = {"id": "kim", "birth_date": "1990-05-12"}
    assert api.call("POST", "/v1/people", "operator", json=person).status_code == 201
    window = {"name": "60+", "vaccine": "janssen", "opens": f"{future(-1)} 09:00", "age_min": 60}
    added = api.call("POST", "/v1/windows", json=window)
    assert added.status_code == 201, added.text
    assert added.json()["name"] == "60+" and added.json()["vaccine"] == "Janssen"
    assert api.call("POST", "/v1/windows", json=window).json()["code"] == "duplicate_window"
    assert [w["name"] for w in api.call("GET", "/v1/windows", "reader").json()] == ["60+"]
    assert api.call("GET", "/v1/windows/60+", "reader").json()["age_min"] == 60
    assert api.call("GET", "/v1/windows/none", "reader").status_code == 404
    # Kim is 36: the window now decides who may book Janssen.
    refused = api.call("POST", "/v1/reservations", "operator", json={"user": "kim", "slot_id": slot["id"]})
    assert refused.status_code == 409, refused.text
    closed = api.call("POST", "/v1/windows/60+/close", json={"at": f"{future(1)} 10:00"})
    assert closed.status_code == 200 and closed.json()["closes_at"]
    early = api.call("POST", "/v1/windows/60+/close", json={"at": f"{future(-3)} 10:00"})
    assert early.status_code == 422
    bad = api.call("POST", "/v1/windows", json={**window, "name": "x", "opens": "soon"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"


@pytest.mark.usefixtures("backend")
def test_vaccine_codes_set_changed_and_cleared_over_http(api, db_path):
    codes = {"cvx": "306", "snomed": "1119349007", "mvx": "VLA", "target_disease": "840539006"}
    body = {"name": "Valneva", "doses": 2, "min_interval": 21, "codes": codes}
    added = api.call("POST", "/v1/vaccines", key="vla-codes", json=body)
    assert added.status_code == 201, added.text
    assert added.json()["codes"] == {"cvx": "306", "snomed": "1119349007", "mvx": "VLA", "target_disease": "840539006"}
    listed = {v["name"]: v for v in api.call("GET", "/v1/vaccines", "reader").json()}
    assert listed["Valneva"]["codes"] == added.json()["codes"]
    changed = api.call("PATCH", "/v1/vaccines/valneva", json={"codes": {"cvx": "", "atc": " J07BN05 "}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["codes"] == {
        "snomed": "1119349007", "atc": "J07BN05", "mvx": "VLA", "target_disease": "840539006",
    }  # fmt: skip
    assert query(db_path, "SELECT cvx, atc, mvx, doses FROM vaccine WHERE name = 'Valneva'") == [
        (None, "J07BN05", "VLA", 2)
    ]
    assert {row[0] for row in query(db_path, "SELECT actor FROM outbox")} == {"admin"}


@pytest.mark.usefixtures("backend")
def test_a_bad_vaccine_code_is_refused_as_the_cli_refuses_it_and_nothing_changes(api, db_path):
    wrong_digit = {"name": "Valneva", "doses": 1, "codes": {"snomed": "1119349008"}}
    refused = api.call("POST", "/v1/vaccines", json=wrong_digit)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "invalid_code"
    assert refused.json()["detail"] == (
        "codes.snomed '1119349008' is not a SNOMED CT id: its last digit is not the Verhoeff check digit of the others"
    )
    assert "Valneva" not in [v["name"] for v in api.call("GET", "/v1/vaccines", "reader").json()]
    before = query(db_path, "SELECT cvx, atc, mvx, updated_at FROM vaccine WHERE name = 'Pfizer'")
    for codes in ({"cvx": "20800"}, {"atc": "j07bn01"}, {"mvx": "PFR", "cvx": "x"}, {"eu_holder": "ORG-" + "9" * 40}):
        answer = api.call("PATCH", "/v1/vaccines/Pfizer", json={"doses": 3, "codes": codes})
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_code", (codes, answer.text)
    assert query(db_path, "SELECT cvx, atc, mvx, updated_at FROM vaccine WHERE name = 'Pfizer'") == before
    unknown_system = api.call("PATCH", "/v1/vaccines/Pfizer", json={"codes": {"icd10": "U07.1"}})
    assert unknown_system.status_code == 422 and unknown_system.json()["code"] == "invalid_input"
    not_text = api.call("PATCH", "/v1/vaccines/Pfizer", json={"codes": {"cvx": 208}})
    assert not_text.status_code == 422 and not_text.json()["code"] == "invalid_input"
    operator = api.call("PATCH", "/v1/vaccines/Pfizer", "operator", json={"codes": {"cvx": "999"}})
    assert operator.status_code == 403
    assert query(db_path, "SELECT cvx, doses FROM vaccine WHERE name = 'Pfizer'") == [("208", 2)]
