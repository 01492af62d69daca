"""Citizens book for themselves (issue 23): login by a one-time code read from the file a real
`outbox deliver` wrote, the limits (tries, codes per 15 minutes, expiry), a session that sees
only its own bookings and its wards', on SQLite and PostgreSQL."""

import datetime as dt
import json

import pytest

from tests.citizen_helpers import BORN, delivered_codes, log_in, register
from tests.helpers import future, query

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("backend")]


def test_login_code_book_page_cancel(api, store, tmp_path, db_path, cli):
    register(store)
    slot = api.slot(2)
    client = api.client
    asked = client.post("/v1/citizen/login", json={"person": "kim", "birth_date": BORN})
    assert asked.status_code == 202
    code = delivered_codes(tmp_path)["kim"]
    assert len(code) == 6 and code.isdigit()
    message = json.loads((tmp_path / "delivered.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert message["payload"]["contact"]["phone"] == "+821012345678"
    assert message["payload"]["message"].startswith(f"[vaxres] 인증번호는 {code}입니다")
    # Once delivered, the code is nowhere in the store or its listings.
    assert [row[0] for row in query(db_path, "SELECT payload FROM outbox WHERE event = 'CitizenCode'")]
    assert code not in json.dumps([row for row in query(db_path, "SELECT payload FROM outbox")], default=str)
    assert code not in cli("outbox", "list", "--json").stdout
    assert query(db_path, "SELECT count(*) FROM citizen_code WHERE code_hash LIKE :c", {"c": f"%{code}%"}) == [(0,)]
    assert query(db_path, "SELECT actor FROM outbox WHERE event = 'CitizenCode'") == [("citizen:kim",)]

    verified = client.post("/v1/citizen/verify", json={"person": "kim", "code": code})
    assert verified.status_code == 200
    session = {"Authorization": f"Bearer {verified.json()['token']}"}
    assert verified.json()["token"] not in json.dumps(query(db_path, "SELECT * FROM citizen_session"), default=str)
    again = client.post("/v1/citizen/verify", json={"person": "kim", "code": code})
    assert again.status_code == 401 and again.json()["code"] == "code_refused"  # a used code is spent

    slots = client.get("/v1/citizen/slots", headers=session).json()["slots"]
    assert [(s["id"], s["status"], s["dose"]) for s in slots] == [(slot["id"], "open", 1)]
    booked = client.post("/v1/citizen/reservations", headers=session, json={"slot_id": slot["id"]})
    assert booked.status_code == 201 and booked.json()["user"] == "kim"
    me = client.get("/v1/citizen/me", headers=session).json()
    assert [b["id"] for b in me["pages"][0]["reservations"]] == [booked.json()["id"]]
    assert me["pages"][0]["person"]["birth_date"] == "1990-05-**"
    cancelled = client.post(f"/v1/citizen/reservations/{booked.json()['id']}/cancel", headers=session)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    actors = query(db_path, "SELECT event, actor FROM outbox WHERE recipient = 'kim' AND event LIKE 'Reservation%'")
    assert sorted(actors) == [("ReservationCancelled", "citizen:kim"), ("ReservationConfirmed", "citizen:kim")]
    assert client.post("/v1/citizen/logout", headers=session).status_code == 204
    assert client.get("/v1/citizen/me", headers=session).status_code == 401
    again = client.post("/v1/citizen/logout", headers=session)
    assert again.status_code == 401 and again.json()["code"] == "session_refused"


def test_the_answer_to_a_login_tells_nothing(api, store, tmp_path, db_path):
    register(store)
    register(store, "lee", phone=None, email=None)
    answers = [
        api.client.post("/v1/citizen/login", json={"person": person, "birth_date": born})
        for person, born in (("kim", BORN), ("kim", "1990-05-13"), ("nobody", BORN), ("lee", BORN))
    ]
    assert {(a.status_code, a.text) for a in answers} == {(202, answers[0].text)}
    assert set(delivered_codes(tmp_path)) == {"kim"}  # one message: the right birth date, a contact
    assert query(db_path, "SELECT count(*) FROM outbox WHERE event = 'CitizenCode'") == [(1,)]
    assert query(db_path, "SELECT count(*) FROM citizen_code") == [(4,)]  # the same work for everyone


def test_a_code_goes_to_the_person_alone_never_to_a_guardian(api, store, tmp_path, db_path, cli):
    register(store)
    ward_born = (dt.date.today() - dt.timedelta(days=365 * 15)).isoformat()
    register(store, "kim-jr", birth_date=ward_born, phone="010-9999-0000", guardian="kim")
    api.client.post("/v1/citizen/login", json={"person": "kim-jr", "birth_date": ward_born})
    assert query(db_path, "SELECT recipient FROM outbox WHERE event = 'CitizenCode'") == [("kim-jr",)]
    # Any reader but the dispatcher sees it masked, even while it waits.
    shown = json.loads(cli("outbox", "list", "--event", "CitizenCode", "--json").stdout)
    assert shown[0]["payload"]["code"] == "******" and "******" in shown[0]["payload"]["message"]
    one = json.loads(cli("outbox", "show", str(shown[0]["id"]), "--json").stdout)
    assert one["payload"]["code"] == "******"
    assert set(delivered_codes(tmp_path)) == {"kim-jr"}


def test_the_sixth_try_of_a_code_fails_even_when_right(api, store, tmp_path):
    register(store)
    api.client.post("/v1/citizen/login", json={"person": "kim", "birth_date": BORN})
    code = delivered_codes(tmp_path)["kim"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = api.client.post("/v1/citizen/verify", json={"person": "kim", "code": wrong})
        assert answer.status_code == 401 and answer.json()["code"] == "code_refused"
    right = api.client.post("/v1/citizen/verify", json={"person": "kim", "code": code})
    assert right.status_code == 401 and right.json()["code"] == "code_refused"
    unknown = api.client.post("/v1/citizen/verify", json={"person": "nobody", "code": code})
    assert unknown.json() == right.json()


def test_the_fourth_code_in_fifteen_minutes_is_429(api, store, tmp_path, time_machine):
    register(store)
    start = dt.datetime.now(dt.UTC)
    time_machine.move_to(start, tick=False)
    for person in ("kim", "nobody"):  # the same for a person unknown: the limit tells nothing either
        for minute in (0, 1, 2):
            time_machine.move_to(start + dt.timedelta(minutes=minute), tick=False)
            login = {"person": person, "birth_date": BORN}
            assert api.client.post("/v1/citizen/login", json=login).status_code == 202
        fourth = api.client.post("/v1/citizen/login", json=login)
        assert fourth.status_code == 429 and fourth.json()["code"] == "too_many_codes"
        assert fourth.headers["Retry-After"] == str(13 * 60)
        time_machine.move_to(start + dt.timedelta(minutes=15, seconds=1), tick=False)
        assert api.client.post("/v1/citizen/login", json=login).status_code == 202
        start = start + dt.timedelta(hours=1)
        time_machine.move_to(start, tick=False)


def test_a_code_expires_after_five_minutes_and_a_session_after_an_hour(api, store, tmp_path, time_machine):
    register(store)
    start = dt.datetime.now(dt.UTC)
    time_machine.move_to(start, tick=False)
    api.client.post("/v1/citizen/login", json={"person": "kim", "birth_date": BORN})
    code = delivered_codes(tmp_path)["kim"]
    time_machine.move_to(start + dt.timedelta(minutes=5, seconds=1), tick=False)
    late = api.client.post("/v1/citizen/verify", json={"person": "kim", "code": code})
    assert late.status_code == 401 and late.json()["code"] == "code_refused"
    session = log_in(api.client, tmp_path)
    assert api.client.get("/v1/citizen/me", headers=session).status_code == 200
    time_machine.move_to(start + dt.timedelta(hours=1, minutes=6), tick=False)
    expired = api.client.get("/v1/citizen/me", headers=session)
    assert expired.status_code == 401 and expired.json()["code"] == "session_refused"
    assert expired.headers["WWW-Authenticate"] == "Bearer"


def test_anyone_elses_reservation_is_not_found(api, store, tmp_path):
    register(store)
    register(store, "lee", birth_date="1985-01-01")
    slot = api.slot(3)
    theirs = api.call("POST", "/v1/reservations", "operator", json={"user": "lee", "slot_id": slot["id"]}).json()
    session = log_in(api.client, tmp_path)
    for method, path in (
        ("GET", f"/v1/citizen/reservations/{theirs['id']}"),
        ("POST", f"/v1/citizen/reservations/{theirs['id']}/cancel"),
        ("GET", "/v1/citizen/reservations/999"),
        ("POST", "/v1/citizen/reservations/999/cancel"),
    ):
        answer = api.client.request(method, path, headers=session)
        assert answer.status_code == 404 and answer.json()["code"] == "reservation_not_found", answer.text
    assert api.call("GET", f"/v1/reservations/{theirs['id']}", "reader").json()["status"] == "reserved"
    for_them = api.client.post("/v1/citizen/reservations", headers=session, json={"slot_id": slot["id"], "user": "lee"})
    assert for_them.status_code == 404 and for_them.json()["code"] == "person_not_found"


def test_no_token_may_act_as_a_citizen(api, store, tmp_path, cli):
    refused = cli("token", "add", "citizen:kim", "--role", "operator")
    assert refused.exit_code == 2 and "citizen:" in refused.stderr
    over_http = api.call("POST", "/v1/tokens", "admin", json={"name": "Citizen:kim", "role": "reader"})
    assert over_http.status_code == 422 and over_http.json()["code"] == "invalid_input"
    assert "citizen:" not in cli("token", "list").stdout


def test_no_operator_may_act_as_a_citizen(api, cli, db_path, monkeypatch):
    """A citizen's changes are made only by their session: `--actor citizen:kim` or VAXRES_ACTOR
    would log an operator's cancel as kim's own."""
    slot = api.slot(2)
    booked = api.call("POST", "/v1/reservations", "operator", json={"user": "kim", "slot_id": slot["id"]})
    assert booked.status_code == 201
    before = query(db_path, "SELECT * FROM reservation"), query(db_path, "SELECT * FROM outbox")
    said = "may not be citizen:...: that is the actor of a citizen's own changes; choose another name\n"
    refused = cli("--actor", "citizen:kim", "cancel", "1")
    assert (refused.exit_code, refused.stdout, refused.stderr) == (2, "", f"Error: --actor {said}")
    monkeypatch.setenv("VAXRES_ACTOR", " Citizen:kim")
    refused = cli("cancel", "1")
    assert (refused.exit_code, refused.stdout, refused.stderr) == (2, "", f"Error: VAXRES_ACTOR {said}")
    assert (query(db_path, "SELECT * FROM reservation"), query(db_path, "SELECT * FROM outbox")) == before


def test_a_guardian_books_for_their_minor_ward(api, store, tmp_path, db_path):
    register(store)
    ward_born = (dt.date.today() - dt.timedelta(days=365 * 10)).isoformat()
    register(store, "kim-jr", birth_date=ward_born, phone=None, guardian="kim")
    slot = api.slot(3)
    session = log_in(api.client, tmp_path)
    assert api.client.get("/v1/citizen/me", headers=session).json()["wards"] == ["kim-jr"]
    booked = api.client.post(
        "/v1/citizen/reservations", headers=session, json={"slot_id": slot["id"], "user": "kim-jr"}
    )
    assert booked.status_code == 201 and booked.json()["user"] == "kim-jr"
    cancelled = api.client.post(f"/v1/citizen/reservations/{booked.json()['id']}/cancel", headers=session)
    assert cancelled.status_code == 200
    assert query(db_path, "SELECT DISTINCT actor FROM outbox WHERE recipient = 'kim-jr' AND event LIKE 'Reserv%'") == [
        ("citizen:kim",)
    ]


def test_not_open_yet_says_when_it_opens(api, store, tmp_path, cli):
    register(store)
    cli("db", "set-timezone", "Asia/Seoul")
    opens = (dt.date.today() + dt.timedelta(days=3)).isoformat() + " 20:00"
    made = cli("window", "add", "later", "--vaccine", "Janssen", "--opens", opens)
    assert made.exit_code == 0, made.stderr
    api.slot(3, days=7)
    session = log_in(api.client, tmp_path)
    [offer] = api.client.get("/v1/citizen/slots", headers=session).json()["slots"]
    assert offer["status"] == "not_open_yet" and offer["time_zone"] == "Asia/Seoul"
    local = dt.datetime.fromisoformat(offer["opens_at"]).astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert local.strftime("%Y-%m-%d %H:%M") == opens
    refused = api.client.post("/v1/citizen/reservations", headers=session, json={"slot_id": offer["id"]})
    assert refused.status_code == 409 and refused.json()["code"] == "not_open_yet"


def test_bad_requests_are_one_line_problems(api, store):
    client = api.client
    for body in (b"{", b"[]", b'{"person": "kim"}', json.dumps({"person": "k" * 5000, "birth_date": BORN}).encode()):
        answer = client.post("/v1/citizen/login", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json", answer.text
    for code in ("12345", "abcdef", "1234567", "１２３４５６"):
        answer = client.post("/v1/citizen/verify", json={"person": "kim", "code": code})
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_input", answer.text
    for auth in ({}, {"Authorization": "Bearer vxc_nothing"}, {"Authorization": f"Bearer {api.tokens['admin']}"}):
        answer = client.get("/v1/citizen/me", headers=auth)
        assert answer.status_code == 401 and answer.json()["code"] == "session_refused"
    assert future()  # the helpers' day, used by api.slot


def test_reschedule_and_the_waitlist_for_oneself_only(api, store, tmp_path):
    register(store)
    register(store, "lee", birth_date="1985-01-01")
    first, second = api.slot(3, days=7), api.slot(3, days=8)
    session = log_in(api.client, tmp_path)
    booked = api.client.post("/v1/citizen/reservations", headers=session, json={"slot_id": first["id"]}).json()
    moved = api.client.post(
        f"/v1/citizen/reservations/{booked['id']}/reschedule", headers=session, json={"slot_id": second["id"]}
    )
    assert moved.status_code == 200, moved.text
    assert api.call("GET", f"/v1/reservations/{booked['id']}", "reader").json()["slot_id"] == second["id"]
    assert api.client.post(f"/v1/citizen/reservations/{booked['id']}/cancel", headers=session).status_code == 200
    wait = {"vaccine": "Janssen", "hospital": "Busan"}  # no slot there: they wait
    joined = api.client.post("/v1/citizen/waitlist", headers=session, json=wait)
    assert joined.status_code == 201 and joined.json()["waiting"]["user"] == "kim", joined.text
    theirs = api.call("POST", "/v1/waitlist", "operator", json={"user": "lee", **wait}).json()["waiting"]
    other = api.client.delete(f"/v1/citizen/waitlist/{theirs['id']}", headers=session)
    assert other.status_code == 404 and other.json()["code"] == "waitlist_entry_not_found"
    mine = api.client.delete(f"/v1/citizen/waitlist/{joined.json()['waiting']['id']}", headers=session)
    assert mine.status_code == 200
    waiting = api.call("GET", "/v1/waitlist", "reader").json()
    assert [entry["user"] for entry in waiting] == ["lee"]


def test_a_code_that_fails_for_good_is_masked_in_the_store_too(api, store, db_path, cli):
    register(store)
    api.client.post("/v1/citizen/login", json={"person": "kim", "birth_date": BORN})
    [(stored,)] = query(db_path, "SELECT payload FROM outbox WHERE event = 'CitizenCode'")
    code = json.loads(stored)["code"] if isinstance(stored, str) else stored["code"]
    assert code.isdigit()  # in clear while it waits for its delivery, for the dispatcher alone
    cli("outbox", "deliver", "--to", "http://127.0.0.1:9/", "--max-attempts", "1", "--connect-timeout", "0.5")
    [(status, stored)] = query(db_path, "SELECT status, payload FROM outbox WHERE event = 'CitizenCode'")
    assert status == "failed"
    assert code not in json.dumps(stored, default=str) and "******" in json.dumps(stored, default=str)


def test_forgetting_a_person_ends_their_sessions_and_spends_their_codes(api, store, tmp_path, db_path, cli):
    register(store)
    client = api.client
    session = log_in(client, tmp_path)
    assert client.get("/v1/citizen/me", headers=session).status_code == 200
    asked = client.post("/v1/citizen/login", json={"person": "kim", "birth_date": BORN})
    assert asked.status_code == 202
    code = delivered_codes(tmp_path)["kim"]  # asked before the forget, still live

    forgotten = cli("person", "forget", "kim")
    assert forgotten.exit_code == 0, forgotten.stderr

    refused = client.get("/v1/citizen/me", headers=session)
    assert refused.status_code == 401 and refused.json()["code"] == "session_refused"
    assert client.post("/v1/citizen/verify", json={"person": "kim", "code": code}).json()["code"] == "code_refused"
    live = "SELECT count(*) FROM citizen_session WHERE person_id = 'kim' AND ended_at IS NULL"
    assert query(db_path, live) == [(0,)]
