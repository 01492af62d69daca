"""The circuit breaker's rounds, with an explicit clock: what `after_round` decides from the
outcomes of one round and the state before it."""

import datetime as dt

import pytest

from vaxres.outbox.breaker import MAX_COOLDOWN, THRESHOLD, BreakerState, after_round
from vaxres.outbox.sinks import DELIVERED, FAILED, RETRY, UNAVAILABLE, Outcome

NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
OK, FAIL, GONE, FULL = (
    Outcome(DELIVERED),
    Outcome(RETRY, "HTTP 503"),
    Outcome(FAILED, "HTTP 410"),
    Outcome(UNAVAILABLE, "disk full"),
)
CLOSED = BreakerState(0, None, 30.0)


def at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("before", "outcomes", "failures", "open_for", "cooldown"),
    [
        (CLOSED, [OK, OK], 0, None, 30.0),
        (CLOSED, [FAIL] * (THRESHOLD - 1), THRESHOLD - 1, None, 30.0),
        (CLOSED, [FAIL] * THRESHOLD, THRESHOLD, 30.0, 30.0),
        (CLOSED, [FAIL, FAIL, OK, FAIL, FAIL, FAIL], 3, None, 30.0),  # a success resets the count
        (BreakerState(3, None, 30.0), [FAIL, FAIL], 5, 30.0, 30.0),  # failures carry over rounds
        (CLOSED, [GONE] * 10, 0, None, 30.0),  # a refusal for good is an answer: no failure
        (CLOSED, [FULL] * 10, 0, None, 30.0),  # an unavailable target does not count either
        (BreakerState(THRESHOLD, None, 30.0), [FAIL], THRESHOLD + 1, 60.0, 60.0),  # a failed probe doubles
        (BreakerState(THRESHOLD, None, 2400.0), [FAIL], THRESHOLD + 1, MAX_COOLDOWN, MAX_COOLDOWN),  # capped
        (BreakerState(THRESHOLD, None, 240.0), [OK], 0, None, 30.0),  # the probe went through: closed, reset
    ],
)
def test_one_round(before, outcomes, failures, open_for, cooldown):
    after = after_round(before, outcomes, default_cooldown=30.0, now=NOW)
    assert after.consecutive_failures == failures
    assert after.open_until == (None if open_for is None else at(open_for))
    assert after.cooldown == cooldown


def test_open_until_the_cooldown_is_over_then_one_probe():
    state = after_round(CLOSED, [FAIL] * THRESHOLD, default_cooldown=30.0, now=NOW)
    assert state.is_open(at(29.999)) and not state.is_open(at(30))
    assert state.probing  # after the cool-down, one message tests the target
    assert state.last_error == "HTTP 503"


def test_a_storm_of_failed_probes_never_waits_more_than_an_hour():
    state, clock = CLOSED, NOW
    waits = []
    for _ in range(12):
        state = after_round(state, [FAIL] * THRESHOLD, default_cooldown=30.0, now=clock)
        waits.append(state.cooldown)
        clock = state.open_until
    assert waits[:5] == [30.0, 60.0, 120.0, 240.0, 480.0]
    assert max(waits) == MAX_COOLDOWN == waits[-1]
