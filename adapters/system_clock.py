"""The real clock, for production; the core only ever sees the ``bot.clock.Clock`` protocol."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
