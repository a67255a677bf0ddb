"""The header-signals rule: mail headers asking for attention (Importance, X-Priority).

Mail clients set these with one click, so they are weak: classify lets them raise the
result by at most one level over what the text or default gives, and never to P1.
"""

from __future__ import annotations

import re

from bot.classify.model import Reason, Report, Stage
from bot.priority import Priority

WEIGHT = 0.3

HIGH: dict[str, dict[str, Priority]] = {
    "Importance": {"high": Priority.P2},
    "X-Priority": {"1": Priority.P1, "2": Priority.P2},
    "Priority": {"urgent": Priority.P1, "high": Priority.P2},
    "X-MSMail-Priority": {"high": Priority.P2},
}
"""Header values (lower case; X-Priority by its leading digit) that ask for more attention."""

LOW: dict[str, tuple[str, ...]] = {
    "Importance": ("low",),
    "X-Priority": ("4", "5"),
    "Priority": ("non-urgent", "low"),
    "X-MSMail-Priority": ("low",),
}
"""Header values that ask for less attention: recorded, never acted on."""


class HeaderSignals:
    """Read priority headers from the mail, as a weak nudge."""

    name = "header-signals"
    description = "Mail headers asking for attention (Importance: high, X-Priority: 1): weak."
    stage = Stage.NUDGE

    def check(self, report: Report) -> list[Reason]:
        reasons = []
        for header in HIGH:
            raw = report.header(header)
            if raw is None:
                continue
            value = _value(header, raw)
            shown = f"header '{header}: {' '.join(raw.split())}'"
            if value in HIGH[header]:
                text = f"{shown} asks for attention (weak signal)"
                reasons.append(Reason(self.name, text, HIGH[header][value], WEIGHT))
            elif value in LOW[header]:
                text = f"{shown} asks for low attention (informative only)"
                reasons.append(Reason(self.name, text, None, 0.0))
        return reasons


def _value(header: str, raw: str) -> str:
    """The comparable part of a header value: '1 (Highest)' -> '1', ' High ' -> 'high'."""
    value = raw.strip().lower()
    if header == "X-Priority":
        match = re.match(r"\d", value)
        return match.group() if match else value
    return value
