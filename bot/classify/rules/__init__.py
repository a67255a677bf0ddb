"""The classification rules, one module each, in the order classify() runs them."""

from __future__ import annotations

from bot.classify.model import Rule
from bot.classify.rules.client_assessment import ClientAssessment
from bot.classify.rules.client_default import ClientDefault
from bot.classify.rules.explicit_marker import ExplicitMarker
from bot.classify.rules.header_signals import HeaderSignals
from bot.classify.rules.impact_urgency import ImpactUrgency

RULES: tuple[Rule, ...] = (
    ExplicitMarker(),
    ClientAssessment(),
    ImpactUrgency(),
    HeaderSignals(),
    ClientDefault(),
)

__all__ = [
    "RULES",
    "ClientAssessment",
    "ClientDefault",
    "ExplicitMarker",
    "HeaderSignals",
    "ImpactUrgency",
]
