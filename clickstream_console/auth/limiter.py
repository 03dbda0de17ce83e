"""Failed sign-ins per client address and per account, in a sliding window: past the limit the
sign-in form answers 429 until the oldest failure leaves the window, so guessing a password is
slowed to a few tries per window whatever the address or account rotation.

In memory: the console runs as one process (many threads), see ``clickstream_console.server``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable


class LoginLimiter:
    def __init__(self, attempts: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, keys: Iterable[str]) -> int:
        """Seconds until a sign-in under ``keys`` may be tried again (0: now)."""
        now = self._clock()
        with self._lock:
            waits = [failures[0] + self.window - now for key in keys if len(failures := self._recent(key, now)) >= self.attempts]
        return max(1, round(max(waits))) if waits else 0

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            # Keys whose failures all expired are dropped, so the map stays bounded by recent traffic.
            for key in [key for key, failures in self._failures.items() if not failures or failures[-1] <= now - self.window]:
                del self._failures[key]

    def succeeded(self, account_key: str) -> None:
        with self._lock:
            self._failures.pop(account_key, None)
