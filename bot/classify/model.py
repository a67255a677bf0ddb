"""The classifier's data: what it reads (Report), what it finds (Reason), what it decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from bot.priority import Priority

CONFLICT = "conflict"
"""Rule name of the notes `classify` adds when findings disagree."""

SUMMARY_REASONS = 3
"""How many reasons `Classification.summary` spells out before saying '+N more'."""


class Stage(IntEnum):
    """How decisive a rule's findings are: a lower stage decides before a higher one."""

    EXPLICIT = 1  # the client's explicit P-marker
    ASSESSMENT = 2  # the client's own assessment in words
    EVIDENCE = 3  # what the text says about impact and urgency
    NUDGE = 4  # weak signals that may raise the result by one level
    FALLBACK = 5  # the default when nothing else decides

    @property
    def is_client_claim(self) -> bool:
        """True for findings that only advise when the provider sets the priority."""
        return self in (Stage.EXPLICIT, Stage.ASSESSMENT)

    @property
    def label(self) -> str:
        return _STAGE_LABELS[self]


_STAGE_LABELS = {
    Stage.EXPLICIT: "explicit marker",
    Stage.ASSESSMENT: "client assessment",
    Stage.EVIDENCE: "impact/urgency wording",
    Stage.NUDGE: "mail headers",
    Stage.FALLBACK: "default",
}


@dataclass(frozen=True)
class Report:
    """What the classifier sees of an incoming report."""

    subject: str
    body: str
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)  # keeps Report hashable
    client_default: Priority | None = None
    client_sets_priority: bool = True

    def header(self, name: str) -> str | None:
        """The value of header `name`, looked up case-insensitively; None when absent."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Reason:
    """One finding of one rule, readable on its own."""

    rule: str
    text: str
    priority: Priority | None
    weight: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"reason weight must be within 0..1, got {self.weight!r}")


@dataclass(frozen=True)
class Classification:
    """The decided priority, how sure we are, and why (decisive reason first)."""

    priority: Priority
    confidence: float
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a classification needs at least one reason")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence!r}")

    def summary(self) -> str:
        """One line: priority, confidence and the leading reasons."""
        shown = [r.text for r in self.reasons if r.priority is not None or r.rule == CONFLICT]
        if not shown:
            shown = [self.reasons[0].text]
        head = shown[:SUMMARY_REASONS]
        more = f" (+{len(shown) - len(head)} more)" if len(shown) > len(head) else ""
        line = f"{self.priority} (confidence {self.confidence:.2f}): {'; '.join(head)}{more}"
        return " ".join(line.split())


class Rule(Protocol):
    """A classification rule: a name, a description and a check over a report.

    `stage` says how decisive its findings are; a rule without one counts as EVIDENCE.
    """

    name: str
    description: str
    stage: Stage

    def check(self, report: Report) -> list[Reason]: ...
