"""Classify incoming reports as P1-P4 with readable reasons.

Each rule lives in its own module under `bot.classify.rules` and has a `name`, a
`description`, a `stage` (how decisive it is) and a `check(report)` returning reasons.
`classify` runs them and combines their findings; see `bot.classify.combine`.

Pure: no I/O, no network, no clock. The same report always gives the same classification.
"""

from __future__ import annotations

from bot.classify.combine import classify
from bot.classify.model import CONFLICT, Classification, Reason, Report, Rule, Stage
from bot.classify.rules import RULES

__all__ = [
    "CONFLICT",
    "RULES",
    "Classification",
    "Reason",
    "Report",
    "Rule",
    "Stage",
    "classify",
]
