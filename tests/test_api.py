"""`vaxres serve`'s API through FastAPI's TestClient: the same use cases as the CLI, roles,
problem+json, Idempotency-Key (issue 22)."""

import pytest

from tests.helpers import count_rows, future, invariant_violations, query
from vaxres.db.revisions import HEAD

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.usefixtures("backend")
def test_a_booking_its_page_and_the_seeds_cancel(api, db_path):
    slot = api.slot(2)
    booked = api.call("POST", "/v1/reservations", "operator", json={"user": "kim", "slot_id": slot["id"]})
    assert booked.status_code == 201
    assert booked.json() | {"reserved_at": None} == {
        "id": 1,
        "user": "kim",
        "dose": 1,
        "status": "reserved",
        "slot_id": slot["id"],
        "date": future(),
        "hospital": "Seoul Clinic",
        "vaccine": "Janssen",
        "reserved_at": None,
        "cancelled_at": None,
        "administered_at": None,
        "lot": None,
    }
    by_name = {"user": "lee", "date": future(), "hospital": "seoul clinic", "vaccine": "janssen"}
    assert api.call("POST", "/v1/reservations", "operator", json=by_name).json()["slot_id"] == slot["id"]
    page = api.call("GET", "/v1/people/kim/page", "reader").json()
    assert [b["id"] for b in page["reservations"]] == [1]
    assert api.call("GET", "/v1/reservations/1", "reader").json()["history"][0]["actor"] == "operator"
    cancelled = api.call("PATCH", "/v1/reservations/1", "operator", json={"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.call("POST", "/v1/reservations/1/cancel", "operator")
    assert again.status_code == 409 and again.json()["code"] == "already_cancelled"
    listed = api.call("GET", "/v1/slots", "reader", params={"limit": 1}).json()
    assert listed == {"slots": [slot | {"remaining": 1}], "total": 1, "next_after": None}
    # Every change was made by the token's name, whatever the caller claims.
    actors = {row[0] for row in query(db_path, "SELECT actor FROM outbox")}
    assert actors == {"admin", "operator"}
    assert not invariant_violations(db_path)


def test_slot_list_pages_by_keyset(api):
    for days in (3, 4, 5):
        api.slot(days=days)
    first = api.call("GET", "/v1/slots", "reader", params={"limit": 2}).json()
    assert [s["date"] for s in first["slots"]] == [future(3), future(4)] and first["total"] == 3
    rest = api.call("GET", "/v1/slots", "reader", params={"limit": 2, "after": first["next_after"]}).json()
    assert [s["date"] for s in rest["slots"]] == [future(5)] and rest["next_after"] is None
    only = api.call("GET", "/v1/slots", "reader", params={"from": future(4), "to": future(4)}).json()
    assert only["total"] == 1


def test_reschedule_administer_people_waitlist_and_report(api):
    first, second = api.slot(1, days=0), api.slot(1, days=9)
    person = {"id": "kim", "name": "Kim Min", "birth_date": "1990-05-12", "phone": "010-1234-5678"}
    added = api.call("POST", "/v1/people", "operator", json=person)
    assert added.status_code == 201 and added.json()["phone"] == "+821012345678"
    assert api.call("GET", "/v1/people/kim", "reader").json()["name"] == "Kim Min"
    api.call("POST", "/v1/reservations", "operator", json={"user": "kim", "slot_id": first["id"]})
    moved = api.call("POST", "/v1/reservations/1/reschedule", "operator", json={"slot_id": second["id"]})
    assert moved.json()["slot_id"] == second["id"] and moved.json()["previous_slot_id"] == first["id"]
    early = api.call("POST", "/v1/reservations/1/administer", "operator", json={"lot": "A1"})
    assert early.status_code == 409 and early.json()["code"] == "too_early"
    joined = api.call(
        "POST", "/v1/waitlist", "operator", json={"user": "lee", "vaccine": "Janssen", "hospital": "Busan"}
    )
    assert joined.status_code == 201
    entry = api.call("GET", "/v1/waitlist", "reader").json()[0]
    assert entry["user"] == "lee"
    assert api.call("DELETE", f"/v1/waitlist/{entry['id']}", "operator").status_code == 200
    report = api.call("GET", "/v1/report", "reader", params={"by": "vaccine"}).json()
    assert report["total"]["booked"] == 1
    assert api.call("GET", "/v1/report", "reader", params={"by": "window"}).status_code == 200


ROLE_MATRIX = [
    # (method, path, body, the least role that may)
    ("GET", "/v1/slots", None, "reader"),
    ("GET", "/v1/reservations/1", None, "reader"),
    ("GET", "/v1/people/kim/page", None, "reader"),
    ("GET", "/v1/report", None, "reader"),
    ("POST", "/v1/reservations", {"user": "u", "slot_id": 1}, "operator"),
    ("POST", "/v1/reservations/1/cancel", None, "operator"),
    ("PATCH", "/v1/reservations/1", {"status": "cancelled"}, "operator"),
    ("POST", "/v1/waitlist", {"user": "u", "vaccine": "Janssen"}, "operator"),
    ("POST", "/v1/people", {"id": "p"}, "operator"),
    ("POST", "/v1/slots", {"date": future(), "hospital": "H", "vaccine": "Janssen", "quantity": 1}, "admin"),
    ("PATCH", "/v1/slots/1", {"quantity": 5}, "admin"),
    ("GET", "/v1/vaccines", None, "reader"),
    ("POST", "/v1/vaccines", {"name": "Valneva", "doses": 2, "min_interval": 21}, "admin"),
    ("PATCH", "/v1/vaccines/Janssen", {"aliases": ["J&J"]}, "admin"),
    ("GET", "/v1/windows", None, "reader"),
    ("GET", "/v1/windows/w", None, "reader"),
    ("POST", "/v1/windows", {"name": "w", "vaccine": "Janssen", "opens": "2026-01-01 09:00"}, "admin"),
    ("POST", "/v1/windows/w/close", None, "admin"),
    ("GET", "/v1/tokens", None, "admin"),
    ("POST", "/v1/tokens", {"name": "kiosk-1", "role": "reader"}, "admin"),
    ("POST", "/v1/tokens/kiosk-1/revoke", None, "admin"),
]
ROLES = ("reader", "operator", "admin")


@pytest.mark.parametrize(("method", "path", "body", "least"), ROLE_MATRIX)
def test_role_matrix(api, method, path, body, least):
    api.slot()
    for role in ROLES:
        answer = api.call(method, path, role, json=body)
        if ROLES.index(role) < ROLES.index(least):
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["code"] == "forbidden"
        else:
            assert answer.status_code not in (401, 403), (role, answer.text)
    for headers in ({}, {"Authorization": "Bearer vxr_not-a-token"}, {"Authorization": "Basic eDp5"}):
        answer = api.client.request(method, path, headers=headers, json=body)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.headers["content-type"] == "application/problem+json"


def test_an_admin_makes_and_revokes_tokens_over_http_and_only_hashes_are_kept(api, store):
    made = api.call("POST", "/v1/tokens", "admin", json={"name": "kiosk-1", "role": "operator"})
    assert made.status_code == 201
    secret = made.json()["token"]
    assert (made.json()["role"], made.json()["created_by"]) == ("operator", "admin")
    again = api.call("POST", "/v1/tokens", "admin", json={"name": "kiosk-1", "role": "operator"})
    assert again.status_code == 409 and again.json()["code"] == "token_exists"
    bad = api.call("POST", "/v1/tokens", "admin", json={"name": "x", "role": "root"})
    assert bad.status_code == 422
    listed = api.call("GET", "/v1/tokens", "admin").json()
    assert "kiosk-1" in [t["name"] for t in listed] and all("token" not in t for t in listed)
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/v1/slots", headers=headers).status_code == 200
    assert api.call("POST", "/v1/tokens/kiosk-1/revoke", "admin").json()["revoked_at"] is not None
    assert api.client.get("/v1/slots", headers=headers).status_code == 401
    assert api.call("POST", "/v1/tokens/nobody/revoke", "admin").status_code == 404
    assert secret.encode() not in store.path.read_bytes()


def test_making_a_token_offers_no_idempotency_key_and_a_resend_is_refused(api, db_path):
    paths = api.client.get("/openapi.json").json()["paths"]

    def headers(path: str, method: str) -> list[str]:
        return [p["name"] for p in paths[path][method].get("parameters", []) if p["in"] == "header"]

    assert "Idempotency-Key" not in headers("/v1/tokens", "post") + headers("/v1/tokens", "get")
    assert "Idempotency-Key" in headers("/v1/tokens/{name}/revoke", "post")
    body = {"name": "kiosk-1", "role": "reader"}
    made = api.call("POST", "/v1/tokens", "admin", key="t-1", json=body)
    again = api.call("POST", "/v1/tokens", "admin", key="t-1", json=body)
    assert made.status_code == 201 and "Idempotent-Replayed" not in made.headers
    assert again.status_code == 409 and again.json()["code"] == "token_exists"
    assert count_rows(db_path, "idempotency_key") == 0


def test_every_change_offers_an_idempotency_key_and_no_read_does(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    offering = {
        (method, path)
        for path, item in paths.items()
        for method, operation in item.items()
        if "Idempotency-Key" in [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
    }
    changes = {(m, path) for path, item in paths.items() for m in item if m in ("post", "patch", "delete")}
    never_kept = {("post", "/v1/tokens"), ("post", "/v1/citizen/login"), ("post", "/v1/citizen/verify")}
    never_kept.add(("post", "/v1/citizen/logout"))  # sent again, the session is gone: nothing to replay
    assert offering == changes - never_kept


def test_a_revoked_token_is_refused_from_the_next_request(api, store):
    from vaxres.access.tokens import revoke_token

    assert api.call("GET", "/v1/slots", "reader").status_code == 200
    revoke_token(store, "reader")
    assert api.call("GET", "/v1/slots", "reader").status_code == 401
    assert count_rows(store.path, "api_token", "token_hash LIKE 'vxr_%'") == 0  # only hashes are kept


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/v1/reservations", {"user": "kim", "slot_id": 99}, 404, "slot_not_found"),
        ("POST", "/v1/reservations", {"user": "kim", "slot_id": -1}, 422, "invalid_input"),
        ("POST", "/v1/reservations", {"user": "kim", "slot_id": "x"}, 422, "invalid_input"),
        ("POST", "/v1/reservations", {"user": "kim"}, 422, "invalid_input"),
        ("POST", "/v1/reservations", {"user": "kim", "slot_id": 1, "typo": 1}, 422, "invalid_input"),
        ("POST", "/v1/slots", {"date": "2020-01-01", "hospital": "H", "vaccine": "Janssen", "quantity": 1}, 422, None),
        ("POST", "/v1/slots", {"date": "tomorrow", "hospital": "H", "vaccine": "Janssen", "quantity": 1}, 422, None),
        ("GET", "/v1/reservations/7", None, 404, "reservation_not_found"),
        ("GET", "/v1/people/nobody", None, 404, "person_not_found"),
        ("PATCH", "/v1/reservations/1", {"status": "lost"}, 422, "invalid_input"),
        ("GET", "/v1/report?by=week", None, 422, "invalid_input"),
    ],
)
def test_problem_bodies(api, method, path, body, status, code):
    answer = api.call(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["type"] == f"urn:vaxres:problem:{problem['code']}"
    assert problem["detail"] and "vaxres " not in problem["detail"]  # the sentence, not the CLI's next command
    if code is not None:
        assert problem["code"] == code


WINDOW = {"name": "w", "vaccine": "Janssen", "opens": "2030-01-01 08:00"}


@pytest.mark.parametrize(
    ("method", "path", "body", "detail"),
    [
        ("GET", "/v1/report?by=nonsense", None, "by must be day, hospital, vaccine or window, got 'nonsense'"),
        ("POST", "/v1/people", {"id": "kim", "rrn": "bad"}, "rrn must be YYMMDD-GNNNNNN (13 digits, the dash optional)"),
        ("POST", "/v1/people", {"id": "kim", "birth_date": "1800-01-01"}, "birth_date is before 1850, got '1800-01-01'"),
        ("POST", "/v1/people", {"id": "kim", "groups": ["g" * 201]}, "groups must be at most 200 characters, got 201"),
        ("POST", "/v1/people", {"id": "kim", "region": "zzz"}, "region must be a two-letter country code such as KR or GB, got 'zzz'"),
        ("POST", "/v1/vaccines", {"name": "X", "doses": 1, "codes": {"cvx": "2080"}}, "codes.cvx '2080' must be a CVX code: 1 to 3 digits, such as 208"),
        ("POST", "/v1/tokens", {"name": "x", "role": "root"}, "role must be one of reader, operator, admin, got 'root'"),
        ("POST", "/v1/windows", WINDOW | {"born_from": "2000-01-01", "born_to": "1990-01-01"}, "born_to 1990-01-01 is before born_from 2000-01-01; give a range"),
        ("POST", "/v1/windows", WINDOW | {"closes": "2030-01-01 07:00"}, "closes 2030-01-01 07:00 is not after opens 2030-01-01 08:00; a window closes after it opens"),
        ("POST", "/v1/windows", WINDOW | {"each": "20:00-18:00"}, "each needs rotation birth-digit: it is the daily window of a rotation"),
        ("GET", "/v1/slots?from=2030-01-02&to=2030-01-01", None, "from 2030-01-02 is after to 2030-01-01"),
        ("POST", "/v1/waitlist", {"user": "kim", "vaccine": "Janssen", "date_from": future(5), "date_to": future(3)}, f"date_to {future(3)} is before date_from {future(5)}; give a range of days"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named_as_the_api_names_it_not_by_the_cli_option(api, method, path, body, detail):
    """The CLI says `--by`, `--rrn`, `--born-to ... --born-from` (tests/test_report.py, test_people.py,
    test_eligibility.py); the API its own names, in every place a sentence gives one."""
    answer = api.call(method, path, json=body)
    assert answer.status_code == 422 and answer.json()["detail"] == detail


def test_a_sold_out_slot_and_bad_json(api):
    slot = api.slot(1)
    api.call("POST", "/v1/reservations", json={"user": "a", "slot_id": slot["id"]})
    sold_out = api.call("POST", "/v1/reservations", json={"user": "b", "slot_id": slot["id"]})
    assert sold_out.status_code == 409
    assert sold_out.json() == {
        "type": "urn:vaxres:problem:sold_out",
        "title": "Refused",
        "status": 409,
        "code": "sold_out",
        "detail": f"slot {slot['id']} ({future()}, Seoul Clinic, Janssen) is sold out",
    }
    broken = api.client.post("/v1/reservations", content=b"{not json", headers=api.auth("admin"))
    assert broken.status_code == 422 and broken.json()["code"] == "invalid_input"


def test_a_busy_store_is_503_with_retry_after(api, store, monkeypatch):
    from vaxres.booking import reservations
    from vaxres.errors import StoreBusy

    def busy(*args, **kwargs):
        raise StoreBusy("store busy, try again shortly")

    monkeypatch.setattr(reservations, "reserve", busy)
    answer = api.call("POST", "/v1/reservations", json={"user": "a", "slot_id": 1})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json()["code"] == "busy"


@pytest.mark.usefixtures("backend")
def test_idempotent_replay_books_once(api, db_path):
    slot = api.slot(5)
    body = {"user": "kim", "slot_id": slot["id"]}
    first = api.call("POST", "/v1/reservations", "operator", key="b0c4-1", json=body)
    again = api.call("POST", "/v1/reservations", "operator", key="b0c4-1", json=body)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(db_path, "reservation") == 1
    other = api.call("POST", "/v1/reservations", "operator", key="b0c4-1", json={**body, "user": "lee"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # The key is the caller's own: another token's same key is another request.
    theirs = api.call("POST", "/v1/reservations", "admin", key="b0c4-1", json={**body, "user": "lee"})
    assert theirs.status_code == 201
    assert count_rows(db_path, "reservation") == 2 and count_rows(db_path, "idempotency_key") == 2
    assert not invariant_violations(db_path)


def test_a_refusal_keeps_no_answer_and_a_failed_change_keeps_no_key(api, db_path, monkeypatch):
    slot = api.slot(1)
    api.call("POST", "/v1/reservations", json={"user": "a", "slot_id": slot["id"]})
    refused = api.call("POST", "/v1/reservations", key="k", json={"user": "b", "slot_id": slot["id"]})
    assert refused.status_code == 409 and count_rows(db_path, "idempotency_key") == 0
    # The answer is kept in the change's transaction: when keeping it fails, the booking is undone.
    from vaxres.access import idempotency

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(idempotency, "keep", broken)
    api.call("PATCH", f"/v1/slots/{slot['id']}", json={"quantity": 2})
    failed = api.call("POST", "/v1/reservations", key="k2", json={"user": "c", "slot_id": slot["id"]})
    assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
    assert count_rows(db_path, "reservation", "user_id = 'c'") == 0
    assert not invariant_violations(db_path)


def test_expired_answers_are_forgotten(api, db_path):
    body = {"user": "kim", "slot_id": api.slot()["id"]}
    api.call("POST", "/v1/reservations", key="old", json=body)
    query(db_path, "UPDATE idempotency_key SET created_at = '2000-01-01 00:00:00.000000'")
    again = api.call("POST", "/v1/reservations", key="old", json=body)
    assert again.status_code == 409 and again.json()["code"] == "already_reserved"  # asked anew
    api.call("POST", "/v1/reservations", key="new", json={**body, "user": "lee"})
    assert [row[0] for row in query(db_path, "SELECT key FROM idempotency_key")] == ["new"]


def test_admission_turns_away_a_write_past_the_limit_and_its_queue(api):
    lanes = api.client.app.state.admission
    writes = lanes.writes
    held = 0
    while writes.try_enter():  # every change's place taken; the queue is full
        held += 1
    writes.queue, writes.timeout = 0, 0.0
    answer = api.call("POST", "/v1/reservations", json={"user": "kim", "slot_id": 1})
    assert answer.status_code == 503 and answer.json()["code"] == "overloaded"
    assert answer.headers["Retry-After"] == "1" and answer.headers["content-type"] == "application/problem+json"
    assert api.call("GET", "/v1/slots", "reader").status_code == 200  # reads have their own lane
    for _ in range(held):
        writes.leave()
    assert writes.inflight == 0
    assert api.call("POST", "/v1/reservations", json={"user": "kim", "slot_id": api.slot()["id"]}).status_code == 201


def test_probes(api, store):
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json() == {"status": "ready", "revision": HEAD}
    query(store.path, "UPDATE alembic_version SET version_num = '0013'")
    behind = api.client.get("/readyz")
    assert behind.status_code == 503 and behind.json()["code"] == "schema_behind"
    page = api.client.get("/docs")  # Swagger UI from this process: nothing from a CDN
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "") and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert f"/docs/assets/{asset}" in page.text
        assert api.client.get(f"/docs/assets/{asset}").status_code == 200
    assert "/v1/reservations" in api.client.get("/openapi.json").json()["paths"]
