"""Admission (issue 22, item 5): the lanes' rules on their own, then a real `vaxres serve` under
more concurrent bookings than it admits: every answer is 201, 409 or 503 with Retry-After,
never a 500 or a reset, and the store's invariant holds."""

import asyncio
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.api_helpers import raw_connection, served_connections, served_protocol
from tests.helpers import count_rows, future, invariant_violations, run_vaxres
from tests.test_api_race import serving
from vaxres.api.admission import Lane, Lanes, Limits
from vaxres.api.bounds import MAX_BODY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_lane_lets_in_its_limit_queues_in_order_and_hands_places_over():
    async def scenario():
        lane = Lane(limit=2, queue=2, timeout=60)
        assert await lane.enter() and await lane.enter()
        first, second = asyncio.create_task(lane.enter()), asyncio.create_task(lane.enter())
        await asyncio.sleep(0)
        assert lane.waiting == 2 and not first.done()
        assert await lane.enter() is False  # the queue is full: turned away at once
        lane.leave()
        assert await first is True and not second.done()  # the place went to the first in line
        lane.leave()
        assert await second is True
        assert lane.inflight == 2 and lane.waiting == 0
        lane.leave()
        lane.leave()
        assert lane.inflight == 0

    asyncio.run(scenario())


def test_a_lane_turns_away_a_waiter_whose_deadline_passes_and_one_cancelled():
    async def scenario():
        lane = Lane(limit=1, queue=5, timeout=0.01)
        assert lane.try_enter()
        assert await lane.enter() is False  # waited its deadline
        assert lane.waiting == 0 and lane.inflight == 1
        lane.timeout = 60
        waiter = asyncio.create_task(lane.enter())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert lane.waiting == 0
        lane.leave()
        assert lane.inflight == 0 and lane.try_enter()  # nothing leaked
        assert Lane(limit=1, queue=0, timeout=1).try_enter()

    asyncio.run(scenario())


def test_a_lane_turns_away_at_once_a_wait_it_foresees_past_the_deadline():
    async def scenario():
        lane = Lane(limit=1, queue=10, timeout=1.0)
        for _ in range(2):
            assert lane.try_enter()
            lane.leave(took=4.0)  # each takes long lately: the average moves toward 4 s
        assert lane.service == pytest.approx(0.9375)
        assert lane.try_enter()
        waiting = asyncio.create_task(lane.enter())  # its turn comes in 0.94 s: within 1 s
        await asyncio.sleep(0)
        assert lane.waiting == 1 and lane.foreseen_wait() > 1.0
        assert await lane.enter() is False  # the queue has room, the deadline would pass
        assert lane.waiting == 1
        lane.leave(took=0.0)
        assert await waiting is True

    asyncio.run(scenario())


def test_reads_have_their_own_lane(api):
    reads = api.client.app.state.admission.reads
    while reads.try_enter():
        pass
    reads.queue = 0
    answer = api.call("GET", "/v1/slots", "reader")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert "too many reads" in answer.json()["detail"]
    slot = {"date": future(), "hospital": "H", "vaccine": "Janssen", "quantity": 1}
    assert api.call("POST", "/v1/slots", json=slot).status_code == 201  # changes go their own way
    assert api.client.get("/readyz").status_code == 200  # the probes are never turned away


@pytest.mark.parametrize(
    ("option", "value"), [("--max-inflight", "0"), ("--queue", "-1"), ("--queue-timeout", "soon"), ("--queue", "x")]
)
def test_serve_refuses_bad_admission_options(option, value):
    done = run_vaxres("serve", option, value)
    assert done.returncode == 2 and option in done.stderr


CLIENTS = 48
ROUNDS = 4
DOSES = 60


@pytest.fixture
def overloaded_server(backend):
    """`vaxres serve` admitting 2 changes at once and 3 waiting at most 0.2 s (one worker)."""
    with serving("--workers", "1", "--max-inflight", "2", "--queue", "3", "--queue-timeout", "0.2") as server:
        yield server


@pytest.mark.slow
def test_a_rush_past_admission_is_201_409_or_503_with_retry_after(overloaded_server, db_path):
    base, auth = overloaded_server
    slot = httpx.post(
        f"{base}/v1/slots",
        headers=auth,
        json={"date": future(), "hospital": "H", "vaccine": "Janssen", "quantity": DOSES},
    ).json()
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> list[httpx.Response]:
        with httpx.Client(timeout=120) as http:
            start.wait()
            return [
                http.post(f"{base}/v1/reservations", headers=auth, json={"user": f"u{n}-{r}", "slot_id": slot["id"]})
                for r in range(ROUNDS)
            ]

    with ThreadPoolExecutor(CLIENTS) as pool:  # a reset or a refused connection raises here
        answers = [answer for answers in pool.map(client, range(CLIENTS)) for answer in answers]
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {201, 409, 503}, sorted(set(statuses))
    shed = [answer for answer in answers if answer.status_code == 503]
    assert shed, "nothing was turned away: the rush did not pass the limit"
    assert all(answer.headers.get("Retry-After") == "1" for answer in shed)
    assert {answer.json()["code"] for answer in shed} == {"overloaded"}
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} <= {"sold_out"}
    booked = statuses.count(201)
    assert booked == count_rows(db_path, "reservation") <= DOSES
    assert not invariant_violations(db_path)
    remaining = httpx.get(f"{base}/v1/slots", headers=auth).json()["slots"][0]["remaining"]
    assert remaining == DOSES - booked
    assert httpx.get(f"{base}/readyz").status_code == 200  # and it still answers


def full_lanes() -> Lanes:
    """A worker's admission whose change lane is full (1 under way, no queue); reads are free."""
    lanes = Lanes(Limits(max_inflight=1, queue=0, queue_timeout=1))
    assert lanes.writes.try_enter()
    return lanes


BOOKING = b'{"user": "kim", "slot_id": 1}'


def post(path: bytes = b"/v1/reservations", body: bytes = BOOKING, *headers: bytes) -> bytes:
    lines = [b"POST " + path + b" HTTP/1.1", b"Host: x", b"Content-Type: application/json", *headers]
    if not any(h.lower().startswith(b"transfer-encoding") for h in headers):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def status_and_body(answer: bytes) -> tuple[bytes, dict]:
    head, body = answer.split(b"\r\n\r\n", 1)
    return head, json.loads(body)


def test_the_protocol_turns_a_change_away_before_the_app_and_keeps_the_connection():
    with served_protocol(full_lanes()) as (protocol, wire):
        protocol.data_received(post())  # the head alone: answered before its body comes
        head, problem = status_and_body(wire.taken())
        assert head.startswith(b"HTTP/1.1 503 ") and b"\r\nretry-after: 1\r\n" in head
        assert b"content-type: application/problem+json" in head and b"connection: close" not in head
        assert problem["code"] == "overloaded" and "too many changes under way (1 at once" in problem["detail"]
        assert not protocol.tasks and not wire.closed  # no request handed to the app
        protocol.data_received(BOOKING)  # its body: skipped, not read as a request
        protocol.data_received(b"GET /v1/slots?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n")  # reads are free
        assert wire.taken() == b"" and len(protocol.tasks) == 1
        assert protocol.cycle.scope["path"] == "/v1/slots" and protocol.cycle.scope["query_string"] == b"limit=1"


def test_turned_away_requests_one_after_another_in_one_read_each_get_their_503():
    with served_protocol(full_lanes()) as (protocol, wire):
        protocol.data_received((post() + BOOKING) * 3 + post(b"/v1/waitlist") + BOOKING)
        answers = wire.taken().split(b"HTTP/1.1 ")[1:]
        assert len(answers) == 4 and all(answer.startswith(b"503 ") for answer in answers)
        assert not protocol.tasks and not wire.closed


def test_a_lane_counts_those_let_through_but_not_yet_entered_before_it_turns_one_away():
    lane = Lane(limit=2, queue=1, timeout=1)
    assert [lane.turns_away(ahead) for ahead in range(4)] == [False, False, False, True]
    assert lane.try_enter()
    assert [lane.turns_away(ahead) for ahead in range(3)] == [False, False, True]
    lane.service = 2.5  # a wait behind one more (1.25 s) would pass the 1 s deadline: only the free place is left
    assert [lane.turns_away(ahead) for ahead in range(2)] == [False, True]


def test_heads_read_together_get_what_admission_has_room_for_and_503_for_the_rest():
    """Requests read in one turn of the loop are all parsed before any of their tasks runs: the
    protocol counts those it let through, so only as many as the lane can take or queue go to the
    app and the rest are answered here, not each handed a task to be turned away later."""
    lanes = Lanes(Limits(max_inflight=2, queue=1, queue_timeout=1))
    assert lanes.writes.try_enter()  # one place left, one in the queue
    with served_connections(lanes) as connect:
        connections = [connect() for _ in range(6)]
        for protocol, _ in connections:
            protocol.data_received(post() + BOOKING)
        handed = [int(protocol.cycle is not None) for protocol, _ in connections]
        answered = [wire.sent.split(b" ", 2)[1] if wire.sent else b"" for _, wire in connections]
        assert len(connections[0][0].tasks) == 2  # the tasks of all connections
        assert lanes.writes.coming == 2  # until their tasks' first steps take them through admission
    assert handed == [1, 1, 0, 0, 0, 0] and answered == [b"", b""] + [b"503"] * 4
    assert lanes.writes.coming == 0  # the loop ran once: counted no more


def test_a_request_let_through_is_in_admission_once_its_task_first_runs(api):
    """What the protocol's count rests on: the app's middleware up to admission runs in the task's
    first step, which the loop runs before the protocol stops counting the request."""
    lanes = api.client.app.state.admission
    with served_connections(lanes, api.client.app) as connect:
        protocol, wire = connect()
        token = api.auth("operator")["Authorization"].encode()
        protocol.data_received(post(b"/v1/reservations", BOOKING, b"Authorization: " + token))  # no body yet
        assert lanes.writes.coming == 1 and lanes.writes.inflight == 0
        connect.loop.run_until_complete(asyncio.sleep(0))  # one turn of the loop
        assert lanes.writes.coming == 0 and lanes.writes.inflight == 1 and wire.sent == b""
    assert lanes.writes.inflight == 0  # cancelled while it waited for its body: its place given back


@pytest.mark.parametrize(
    ("request_bytes", "why"),
    [
        (post(b"/v1/reservations", BOOKING, b"Expect: 100-continue"), "its body may never come"),
        (post(b"/v1/reservations", BOOKING, b"Transfer-Encoding: chunked"), "a chunked body has no bound"),
        (post(b"/v1/people", b"x" * (MAX_BODY + 1)), "a body past MAX_BODY"),
        (post(b"/v1/reservations", BOOKING, b"Connection: close"), "the client asked"),
        (post().replace(b"HTTP/1.1", b"HTTP/1.0"), "HTTP/1.0"),
    ],
)
def test_a_turned_away_change_closes_the_connection_when_its_body_is_not_bounded(request_bytes, why):
    with served_protocol(full_lanes()) as (protocol, wire):
        protocol.data_received(request_bytes)
        head, problem = status_and_body(wire.taken())
        assert head.startswith(b"HTTP/1.1 503 ") and b"connection: close" in head, why
        assert problem["code"] == "overloaded" and wire.closed and not protocol.tasks
        protocol.data_received(b"GET /v1/slots HTTP/1.1\r\nHost: x\r\n\r\n")  # read after the close: dropped
        assert wire.taken() == b"" and not protocol.tasks


def test_the_protocol_leaves_to_the_app_what_admission_lets_in_pages_and_a_pipelined_request():
    free = Lanes(Limits(max_inflight=1, queue=0, queue_timeout=1))
    with served_protocol(free) as (protocol, wire):
        protocol.data_received(post() + BOOKING)  # the lane has room: the app decides
        assert len(protocol.tasks) == 1 and wire.sent == b""
    with served_protocol(full_lanes()) as (protocol, wire):
        protocol.data_received(post(b"/login", b"person=kim"))  # the page sheds as a waiting page, in the app
        assert len(protocol.tasks) == 1 and wire.sent == b""
    with served_protocol(full_lanes()) as (protocol, wire):
        protocol.data_received(b"GET /v1/slots HTTP/1.1\r\nHost: x\r\n\r\n" + post() + BOOKING)
        # the read is still under way: a 503 now would come before its answer
        assert len(protocol.tasks) == 1 and len(protocol.pipeline) == 1 and wire.sent == b""


def _one_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """One answer's head and body (by its Content-Length) from a kept-alive connection."""
    got = b""
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    head, body = got.split(b"\r\n\r\n", 1)
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
    while len(body) < length:
        body += sock.recv(65536)
    assert len(body) == length, "more than one answer arrived"
    return head, body


@pytest.mark.slow
def test_a_real_server_turns_a_change_away_while_one_is_under_way_and_books_it_after(backend, db_path):
    with serving("--workers", "1", "--max-inflight", "1", "--queue", "0") as (base, auth):
        slot = httpx.post(
            f"{base}/v1/slots",
            headers=auth,
            json={"date": future(), "hospital": "H", "vaccine": "Janssen", "quantity": 5},
        ).json()
        token = auth["Authorization"].encode()

        def booking(user: str, *headers: bytes) -> tuple[bytes, bytes]:
            body = json.dumps({"user": user, "slot_id": slot["id"]}).encode()
            return post(b"/v1/reservations", body, b"Authorization: " + token, *headers), body

        held_head, held_body = booking("held")
        with raw_connection(base, held_head) as held:  # let in, its body still to come: the lane is full
            assert httpx.get(f"{base}/healthz").status_code == 200  # the loop has taken the held one in
            head, body = booking("shed")
            with raw_connection(base, head) as sock:
                answer, problem = _one_answer(sock)
                assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer.lower()
                assert json.loads(problem)["code"] == "overloaded"
                sock.sendall(body + b"GET /v1/slots HTTP/1.1\r\nHost: x\r\nAuthorization: " + token + b"\r\n\r\n")
                answer, slots = _one_answer(sock)  # the same connection goes on, the body skipped
                assert answer.startswith(b"HTTP/1.1 200 ") and json.loads(slots)["slots"][0]["remaining"] == 5
            expecting, _ = booking("expecting", b"Expect: 100-continue")
            with raw_connection(base, expecting) as sock:
                answer, _ = _one_answer(sock)
                assert answer.startswith(b"HTTP/1.1 503 ") and b"connection: close" in answer.lower()
                assert sock.recv(1) == b""  # closed: its body is not awaited
            held.sendall(held_body)
            answer, booked = _one_answer(held)
            assert answer.startswith(b"HTTP/1.1 201 "), answer + booked
        after = httpx.post(f"{base}/v1/reservations", headers=auth, json={"user": "after", "slot_id": slot["id"]})
        assert after.status_code == 201  # the held one's place was given back
    assert count_rows(db_path, "reservation") == 2 and not invariant_violations(db_path)
