"""Fill leases, shared by items and list pages: one holder reads the origin, the rest wait.

- The holder keeps its lease alive while its origin read runs (`LeaseKeeper`: a daemon
  thread renews it every lease_ms / 3, only while it still holds the caller's token), so a
  slow origin does not let the lease expire and a second caller read the origin too.
- A waiter polls the lease with a short backoff (`LeaseWait`), never sleeping past the
  lease's end (a take-over should not wait for the backoff), for at most
  `lease_wait_max_seconds`; after that it serves stale where the policy allows, else it reads
  the origin itself (its fill is still compare-and-set).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DEFAULT_LEASE_MS = 2_000
"""Lease lifetime: a few renewal periods; a crashed holder is forgotten this long after."""
DEFAULT_LEASE_WAIT_MAX_SECONDS = 5.0
"""The most a caller waits for another's fill: well under the read function's timeout (10 s)."""

_FIRST_POLL_SECONDS = 0.005
_MAX_POLL_SECONDS = 0.05


def new_token() -> str:
    """A lease token: random, so a holder can tell its own lease from a successor's."""
    return secrets.token_hex(8)


class LeaseKeeper:
    """Renews the leases this process holds while their holders work.

    `renew(lease_key, token, lease_ms)` returns False when the lease is gone or someone
    else's (then renewal stops); it must not raise. `interval_seconds` defaults to a third of
    the lease, so two renewals can fail before the lease lapses.
    """

    def __init__(
        self,
        renew: Callable[[str, str, int], bool],
        *,
        lease_ms: int,
        interval_seconds: float | None = None,
    ) -> None:
        self._renew = renew
        self.lease_ms = lease_ms
        self.interval_seconds = lease_ms / 3000.0 if interval_seconds is None else interval_seconds

    @contextmanager
    def kept(self, lease_key: str, token: str) -> Iterator[None]:
        """Keep `lease_key` (held with `token`) alive until the block ends."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(lease_key, token, stop), name="lease-keeper", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            # No join: a renewal racing the end is harmless (the fill or release that follows
            # checks the token, and renew only extends a lease that is still ours).
            stop.set()

    def _run(self, lease_key: str, token: str, stop: threading.Event) -> None:
        while not stop.wait(self.interval_seconds):
            if not self._renew(lease_key, token, self.lease_ms):
                return


class LeaseWait:
    """The pauses of one waiter: doubling from 5 ms to 50 ms, within `max_seconds` in all."""

    def __init__(self, max_seconds: float, sleep: Callable[[float], None]) -> None:
        self.max_seconds = max_seconds
        self.waited = 0.0
        self._sleep = sleep
        self._delay = _FIRST_POLL_SECONDS

    def pause(self, lease_ttl_ms: int) -> bool:
        """Sleep before the next poll; False (without sleeping) once the bound is used up."""
        left = self.max_seconds - self.waited
        if left <= 0:
            return False
        pause = min(self._delay, left, max(lease_ttl_ms, 1) / 1000.0)
        self._sleep(pause)
        self.waited += pause
        self._delay = min(self._delay * 2, _MAX_POLL_SECONDS)
        return True
