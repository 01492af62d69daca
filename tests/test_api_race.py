"""A real `vaxres serve` process under real concurrent requests (issue 22): 60 bookings for 30
doses give 30 × 201 and 30 × 409, on both backends; a booking retried with its key books once."""

import contextlib
import json
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import VAXRES, count_rows, future, invariant_violations, run_vaxres

CLIENTS = 60
DOSES = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(base: str, server: subprocess.Popen) -> None:
    for _ in range(200):
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise AssertionError(f"vaxres serve did not start: {server.stderr and server.stderr.read()}")


@contextlib.contextmanager
def serving(*options: str):
    """`vaxres serve` on a free port over the test's store with these options, and an admin's
    token; stopped afterwards, with no traceback on its stderr."""
    made = run_vaxres("token", "add", "desk", "--role", "admin")
    assert made.returncode == 0, made.stderr
    port = _free_port()
    server = subprocess.Popen(
        [VAXRES, "serve", "--port", str(port), *options],
        env={**os.environ, "VAXRES_BUSY_TIMEOUT": "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server)
        yield base, {"Authorization": f"Bearer {made.stdout.strip()}"}
    finally:
        server.terminate()
        assert server.wait(timeout=30) is not None
        errors = server.stderr.read() if server.stderr else ""
        assert "Traceback" not in errors, errors


@pytest.fixture
def served(backend):
    # A queue waiting long enough that admission (tests/test_api_admission.py) turns none away.
    with serving("--workers", "2", "--queue-timeout", "60") as server:
        yield server


@pytest.mark.slow
def test_sixty_requests_over_thirty_doses(served, db_path):
    base, auth = served
    slot = httpx.post(
        f"{base}/v1/slots",
        headers=auth,
        json={"date": future(), "hospital": "H", "vaccine": "Janssen", "quantity": DOSES},
    ).json()

    def book(n: int) -> httpx.Response:
        with httpx.Client(timeout=120) as client:
            return client.post(f"{base}/v1/reservations", headers=auth, json={"user": f"u{n}", "slot_id": slot["id"]})

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(book, range(CLIENTS)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(201) == DOSES and statuses.count(409) == CLIENTS - DOSES, [
        a.text for a in answers if a.status_code not in (201, 409)
    ]
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} == {"sold_out"}
    assert count_rows(db_path, "reservation") == DOSES
    assert not invariant_violations(db_path)


@pytest.mark.slow
def test_a_booking_retried_at_once_with_its_key_books_once(served, db_path):
    """The retries of a client whose connection dropped arrive together: one booking, one answer."""
    base, auth = served
    slot = httpx.post(
        f"{base}/v1/slots", headers=auth, json={"date": future(), "hospital": "H", "vaccine": "Janssen", "quantity": 9}
    ).json()
    headers = {**auth, "Idempotency-Key": "retry-1"}

    def book(_: int) -> httpx.Response:
        with httpx.Client(timeout=120) as client:
            return client.post(f"{base}/v1/reservations", headers=headers, json={"user": "kim", "slot_id": slot["id"]})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(book, range(8)))
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.content for answer in answers}) == 1
    assert json.loads(answers[0].content)["user"] == "kim"
    assert count_rows(db_path, "reservation") == 1
