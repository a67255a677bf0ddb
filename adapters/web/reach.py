"""Whether a vendor API can be reached now, from what the last calls to it said.

An adapter records each call's outcome (``succeeded``, or ``failed`` with a short reason that
never holds a credential); its ``/healthz`` check is then the truth about the API: one failure
since the last success is *degraded*, ``down_after`` failures in a row are *down* (503). A
failure that is the request's own fault (a refused phone number, an unknown channel) is an
answer from the API, so it counts as success here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from adapters.web.component import Health


class Reachability:
    """Outcomes of the calls to one API; safe to record from any thread."""

    def __init__(self, what: str, *, down_after: int = 3,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.down_after = down_after
        self._now = monotonic
        self._lock = threading.Lock()
        self.failures = 0
        """Failures in a row, since the last success."""
        self.last_error = ""
        self.last_contact: float | None = None
        """Monotonic time of the last call, whatever its outcome."""
        self.calls = 0

    def succeeded(self) -> None:
        with self._lock:
            self.failures = 0
            self.last_contact = self._now()
            self.calls += 1

    def failed(self, reason: str) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = reason
            self.last_contact = self._now()
            self.calls += 1

    def quiet_for(self) -> float | None:
        """Seconds since the last call (None: never called)."""
        with self._lock:
            return None if self.last_contact is None else self._now() - self.last_contact

    def health(self) -> Health:
        with self._lock:
            failures, error, calls = self.failures, self.last_error, self.calls
        if calls == 0:
            return Health(True, f"{self.what}: not called yet", degraded=True)
        if failures == 0:
            return Health(True, f"{self.what}: reachable")
        reason = f"{self.what}: {error} ({failures} failed call{'s' * (failures > 1)} in a row)"
        return Health(failures < self.down_after, reason, degraded=True)
