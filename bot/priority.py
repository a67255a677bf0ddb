"""Incident priorities P1 (major) to P4 (low), as both SLA documents define them."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 for P1 (most urgent) to 4 for P4."""
        return int(self.value[1])

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Accept 'P1', 'p1' or '1'; raise ValueError naming the accepted forms otherwise."""
        t = text.strip().upper()
        if t in {"1", "2", "3", "4"}:
            t = "P" + t
        try:
            return cls(t)
        except ValueError:
            raise ValueError(f"not a priority: {text!r} (expected P1, P2, P3 or P4)") from None

    def raised(self, steps: int = 1) -> Priority:
        """The priority `steps` levels more urgent, never above P1."""
        return Priority(f"P{max(1, self.rank - steps)}")

    def lowered(self, steps: int = 1) -> Priority:
        return Priority(f"P{min(4, self.rank + steps)}")
