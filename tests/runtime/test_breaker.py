"""Circuit breaker transitions with an injected clock."""

from __future__ import annotations

import pytest
from runtime_helpers import FakeClock

from cache_constructs.runtime.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


def make(clock):
    return CircuitBreaker("t", failure_threshold=3, cooldown_seconds=5, clock=clock)


def test_opens_after_consecutive_failures_only():
    breaker = make(FakeClock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN
    assert breaker.allow() is False


def test_half_open_probe_closes_on_success():
    clock = FakeClock()
    breaker = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(4.9)
    assert breaker.allow() is False
    clock.advance(0.1)
    assert breaker.allow() is True  # the one probe
    assert breaker.state == HALF_OPEN
    assert breaker.allow() is False  # no second probe while the first is out
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow()


def test_failed_probe_reopens_for_a_new_cooldown():
    clock = FakeClock()
    breaker = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(5)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN
    clock.advance(4)
    assert breaker.allow() is False
    clock.advance(1)
    assert breaker.allow() is True


def test_lost_probe_is_replaced_after_a_cooldown():
    clock = FakeClock()
    breaker = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(5)
    assert breaker.allow()
    clock.advance(5)  # the probe never reported back
    assert breaker.allow()


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 1), (1, 0)])
def test_validation(threshold, cooldown):
    with pytest.raises(ValueError):
        CircuitBreaker("x", failure_threshold=threshold, cooldown_seconds=cooldown)
