"""The period's satisfaction ratings: what clients answered to "How did we do?". Pure.

Each ticket counts once, with its last rating given in the period (before the report's
instant): a client who changes their mind within the week counts with the new score. A ticket
rated in one period and changed in the next counts in each, with the score each period saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from bot.model import EventKind
from bot.ticket import Ticket
from bot.ticket_channels import RATING_SCORES


@dataclass(frozen=True)
class Ratings:
    by_ticket: tuple[tuple[str, int], ...] = ()
    """(reference, score), in the order of the tickets' references."""

    @property
    def count(self) -> int:
        return len(self.by_ticket)

    @property
    def average(self) -> Decimal | None:
        """To one decimal, half up; None without ratings."""
        if not self.by_ticket:
            return None
        total = Decimal(sum(score for _, score in self.by_ticket))
        return (total / self.count).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def distribution(self) -> dict[int, int]:
        """Score -> how many tickets got it, every score present (5 first)."""
        return {n: sum(1 for _, s in self.by_ticket if s == n)
                for n in sorted(RATING_SCORES, reverse=True)}


NO_RATINGS = Ratings()
"""A report's ratings when none were given (immutable: one shared value)."""


def period_ratings(tickets: Iterable[Ticket], start: datetime, as_of: datetime) -> Ratings:
    found: list[tuple[str, int]] = []
    for t in tickets:
        given = [e for e in t.events
                 if e.kind == EventKind.RATED and start <= e.at <= as_of]
        if given:
            found.append((t.reference, int(given[-1].data["score"])))
    return Ratings(tuple(sorted(found)))


def rating_lines(r: Ratings) -> list[str]:
    """The report's satisfaction section, as text lines."""
    if not r.count:
        return ["No ratings in this period."]
    spread = ", ".join(f"{n}: {k}" for n, k in r.distribution.items())
    return [f"{r.count} rating{'s' if r.count != 1 else ''}, average {r.average} of 5 "
            f"({spread})"]


def ratings_dict(r: Ratings) -> dict[str, object]:
    return {"count": r.count, "average": str(r.average) if r.average is not None else None,
            "distribution": {str(n): k for n, k in r.distribution.items()},
            "tickets": [{"ticket": ref, "score": s} for ref, s in r.by_ticket]}
