"""Admission (issue 22, item 5): the lanes' rules on their own, then a real `vaxres serve` under
more concurrent bookings than it admits: every answer is 201, 409 or 503 with Retry-After,
never a 500 or a reset, and the store's invariant holds."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import count_rows, future, invariant_violations, run_vaxres
from tests.test_api_race import serving
from vaxres.api.admission import Lane

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
