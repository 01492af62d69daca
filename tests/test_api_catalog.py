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
