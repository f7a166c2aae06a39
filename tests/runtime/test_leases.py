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


def test_the_holder_renews_its_lease_until_the_work_ends():
    renewals = Renewals()
    keeper = LeaseKeeper(renewals, lease_ms=900, interval_seconds=0.001)
    with keeper.kept("pc:{p:1}:l", "tok"):
        for _ in range(3):
            assert renewals.called.acquire(timeout=10)
    assert renewals.calls[0] == ("pc:{p:1}:l", "tok", 900)
    # After the block, at most one renewal already under way may still come; then none.
    renewals.called.acquire(timeout=0.2)
    count = len(renewals.calls)
    assert not renewals.called.acquire(timeout=0.2)
    assert len(renewals.calls) == count


def test_renewal_stops_once_the_lease_is_no_longer_ours():
    renewals = Renewals(answers=[True, False])
    keeper = LeaseKeeper(renewals, lease_ms=900, interval_seconds=0.001)
    with keeper.kept("k", "tok"):
        assert renewals.called.acquire(timeout=10)
        assert renewals.called.acquire(timeout=10)
        assert not renewals.called.acquire(timeout=0.2)  # gave up after the refusal
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
