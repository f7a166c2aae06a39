"""A small circuit breaker: consecutive failures open it, a cooldown later one probe may pass.

closed --(threshold consecutive failures)--> open --(cooldown elapsed)--> half-open
half-open --(probe succeeds)--> closed;  half-open --(probe fails)--> open (new cooldown)

While open, callers skip the dependency at once instead of waiting for a timeout each time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class CircuitBreaker:
    """Thread-safe breaker; `clock` (seconds, monotonic) is injectable for tests."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 3,
        cooldown_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if cooldown_seconds <= 0:
            raise ValueError("cooldown_seconds must be > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_started = 0.0

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open` (as last decided; `allow` moves open -> half-open)."""
        return self._state

    def allow(self) -> bool:
        """May a call go through now? In half-open state only one probe at a time may."""
        if self._state == CLOSED:  # the hot path takes no lock
            return True
        with self._lock:
            now = self._clock()
            if self._state == CLOSED:
                return True
            if self._state == OPEN:
                if now - self._opened_at < self.cooldown_seconds:
                    return False
                self._state = HALF_OPEN
                self._probe_started = now
                return True
            # half-open: a probe is out; let another try only if that one never reported back
            if now - self._probe_started >= self.cooldown_seconds:
                self._probe_started = now
                return True
            return False

    def record_success(self) -> None:
        """A call succeeded: close the breaker."""
        if self._state == CLOSED and self._failures == 0:
            return
        with self._lock:
            self._state = CLOSED
            self._failures = 0

    def record_failure(self) -> None:
        """A call failed: count it; open at the threshold, or at once after a failed probe."""
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = OPEN
                self._opened_at = self._clock()
