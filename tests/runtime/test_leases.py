"""LeaseKeeper (renewal while the holder works) and LeaseWait (the waiters' bounded backoff)."""

from __future__ import annotations

import threading

import pytest

from cache_constructs.runtime.leases import LeaseKeeper, LeaseWait


class Renewals:
    """A `renew` callable that records its calls and signals each one."""

    def __init__(self, answers: list[bool] | None = None) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.answers = answers
        self.called = threading.Semaphore(0)

    def __call__(self, key: str, token: str, lease_ms: int) -> bool:
        self.calls.append((key, token, lease_ms))
        self.called.release()
        return True if self.answers is None else self.answers.pop(0)


def _new_keeper_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lease-keeper" and t not in before]


def test_the_holder_renews_its_lease_until_the_work_ends():
    renewals = Renewals()
    keeper = LeaseKeeper(renewals, lease_ms=900, interval_seconds=0.001)
    before = set(threading.enumerate())
    with keeper.kept("pc:{p:1}:l", "tok"):
        for _ in range(3):
            assert renewals.called.acquire(timeout=10)
        (thread,) = _new_keeper_threads(before)
    at_exit = len(renewals.calls)
    assert renewals.calls[0] == ("pc:{p:1}:l", "tok", 900)
    # The keeper stops once the block ends; at most a renewal already under way completes.
    # (Joined, not timed: a loaded machine can delay that last renewal by any amount.)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert at_exit <= len(renewals.calls) <= at_exit + 1


def test_renewal_stops_once_the_lease_is_no_longer_ours():
    renewals = Renewals(answers=[True, False])
    keeper = LeaseKeeper(renewals, lease_ms=900, interval_seconds=0.001)
    before = set(threading.enumerate())
    with keeper.kept("k", "tok"):
        (thread,) = _new_keeper_threads(before)
        thread.join(timeout=30)  # gives up by itself after the refusal, inside the block
        assert not thread.is_alive()
    assert len(renewals.calls) == 2


def test_the_default_renewal_period_is_a_third_of_the_lease():
    assert LeaseKeeper(Renewals(), lease_ms=2000).interval_seconds == pytest.approx(2 / 3)


def test_a_waiter_backs_off_never_past_the_lease_and_stops_at_its_bound():
    slept: list[float] = []
    wait = LeaseWait(0.1, slept.append)
    assert wait.pause(lease_ttl_ms=1000) and slept == [0.005]
    assert wait.pause(lease_ttl_ms=3) and slept[-1] == 0.003  # the lease ends sooner
    while wait.pause(lease_ttl_ms=1000):
        pass
    assert max(slept) <= 0.05
    assert sum(slept) == pytest.approx(0.1)
    assert wait.pause(lease_ttl_ms=1000) is False
