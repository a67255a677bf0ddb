"""The client-assessment rule: the client's own first-line assessment, in words.

'Severity: critical', 'Urgency: high', 'we consider this critical', 'dit is dringend',
'c'est un incident majeur'. Only assessment constructions count: a bare 'critical' in a
log line is not an assessment.
"""

from __future__ import annotations

import re

from bot.classify.model import Reason, Report, Stage
from bot.classify.text import Source, negated, sources, words_before
from bot.priority import Priority

P1, P2, P3, P4 = Priority.P1, Priority.P2, Priority.P3, Priority.P4

LEVELS: dict[str, Priority] = {
    # English
    "critical": P1, "blocker": P1, "blocking": P1, "major": P1, "major incident": P1,
    "urgent": P1, "emergency": P1, "highest": P1, "very high": P1, "top": P1,
    "high": P2,
    "medium": P3, "normal": P3, "moderate": P3,
    "low": P4, "lowest": P4, "minor": P4, "cosmetic": P4, "trivial": P4,
    # Dutch
    "kritiek": P1, "kritisch": P1, "blokkerend": P1, "spoed": P1, "spoedeisend": P1,
    "dringend": P1, "zeer hoog": P1, "hoogste": P1,
    "hoog": P2, "hoge": P2,
    "gemiddeld": P3, "normaal": P3, "matig": P3,
    "laag": P4, "lage": P4, "laagste": P4, "gering": P4, "cosmetisch": P4,
    # French
    "critique": P1, "majeur": P1, "majeure": P1, "incident majeur": P1, "urgente": P1,
    "bloquant": P1, "bloquante": P1, "tres haute": P1, "tres elevee": P1,
    "haute": P2, "haut": P2, "elevee": P2, "eleve": P2,
    "moyenne": P3, "moyen": P3, "normale": P3, "moderee": P3, "modere": P3,
    "basse": P4, "bas": P4, "faible": P4, "mineur": P4, "mineure": P4, "cosmetique": P4,
}  # fmt: skip
"""Assessment words (folded) and the priority each points to."""

COPULA_LEVELS = (
    "critical", "blocker", "major incident", "urgent", "emergency", "minor", "cosmetic",
    "trivial", "kritiek", "kritisch", "spoed", "spoedeisend", "dringend", "critique",
    "incident majeur", "urgente", "mineur", "mineure", "cosmetique",
)  # fmt: skip
"""Words that are an assessment after 'this is' / 'dit is' / 'c'est'.

Not 'normal' ('this is normal behaviour') nor 'blocking' ('it is blocking for me' states
urgency, which the impact-urgency rule weighs).
"""

FIELDS = (
    "severity", "urgency", "impact", "priority", "prio", "criticality", "severite",
    "ernst", "urgentie", "prioriteit", "gravite", "urgence", "criticite", "priorite",
)  # fmt: skip
"""Field names that introduce an assessment: 'Severity: critical'."""

SUBJECT_KEYWORDS = ("urgent", "urgente", "spoed", "spoedeisend", "dringend", "emergency")
"""Words that are an assessment anywhere in the subject ('URGENT: invoices missing')."""

WEIGHT = 0.85
KEYWORD_WEIGHT = 0.8


def _alternatives(words: tuple[str, ...] | list[str]) -> str:
    longest_first = sorted(words, key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, w.split())) for w in longest_first)


_ANY = _alternatives(list(LEVELS))
_COPULA = _alternatives(COPULA_LEVELS)
_END = r"(?![\w\-])"
_LINE_START = r"(?m)^[ \t]*(?:[-*\u2022][ \t]*)?"

FIELD = rf"(?P<mark>(?<![\w\-])(?:{_alternatives(FIELDS)})\s*[:=]\s*(?P<level>{_ANY}){_END})"

STATEMENTS = (
    # we consider this critical / we'd rate this as high
    rf"(?:we|i|we'd|i'd)\s+(?:would\s+)?(?:consider|rate|classify|regard|see|deem)\s+"
    rf"(?:this|it|this\s+issue|this\s+incident|this\s+problem)\s+(?:as\s+|to\s+be\s+)?"
    rf"(?:an?\s+)?(?:very\s+|really\s+|highly\s+)?(?P<level>{_ANY})",
    # this is critical / it's a major incident
    rf"(?:this|it|this\s+issue|this\s+incident|this\s+problem)(?:\s+(?:is|was|seems)|'s)\s+"
    rf"(?:an?\s+)?(?:very\s+|really\s+|quite\s+|extremely\s+|highly\s+)?(?P<level>{_COPULA})",
    # wij beschouwen dit als kritiek / dit is zeer dringend
    rf"(?:wij|we|ik)\s+(?:beschouwen|vinden|zien|achten)\s+(?:dit|het|deze\s+melding)\s+"
    rf"(?:als\s+)?(?:een\s+)?(?:zeer\s+|erg\s+|heel\s+)?(?P<level>{_ANY})",
    rf"(?:dit|het|deze\s+melding|dit\s+probleem)\s+is\s+(?:zeer\s+|erg\s+|heel\s+|echt\s+)?"
    rf"(?:een\s+)?(?P<level>{_COPULA})",
    # nous considérons cela comme critique / c'est urgent / c'est un incident majeur
    rf"(?:nous|je)\s+(?:considerons|considere|estimons|estime|jugeons|juge)\s+"
    rf"(?:cela|ceci|ce\s+probleme|cet\s+incident|que\s+c'est)\s+(?:comme\s+)?"
    rf"(?:une?\s+)?(?:tres\s+)?(?P<level>{_ANY})",
    rf"(?:c'est|c\s+est|ceci\s+est|cela\s+est|ce\s+probleme\s+est|cet\s+incident\s+est)\s+"
    rf"(?:tres\s+|vraiment\s+)?(?:une?\s+)?(?P<level>{_COPULA})",
    # high priority / hoge prioriteit / haute priorité / priorité haute
    r"(?P<level>high|low|medium|normal|top|highest|lowest)\s+priority",
    r"(?P<level>hoge|lage|normale|hoogste|laagste)\s+prioriteit",
    r"(?P<level>haute|basse|tres\s+haute)\s+priorite",
    r"priorite\s+(?P<level>haute|elevee|basse|normale|moyenne|critique)",
    # a major incident, wherever it is said
    r"(?P<level>major\s+incident|incident\s+majeur)",
)
"""Assessments in a sentence, anywhere in subject or body."""

_STATEMENT_PATTERNS = tuple(
    (re.compile(rf"(?P<mark>(?<![\w\-]){s}{_END})"), WEIGHT) for s in STATEMENTS
)
SUBJECT_PATTERNS = (
    (re.compile(FIELD), WEIGHT),
    *_STATEMENT_PATTERNS,
    (
        re.compile(rf"(?P<mark>(?<![\w\-])(?P<level>{_alternatives(SUBJECT_KEYWORDS)}){_END})"),
        KEYWORD_WEIGHT,
    ),
)
BODY_PATTERNS = ((re.compile(_LINE_START + FIELD), WEIGHT), *_STATEMENT_PATTERNS)


class ClientAssessment:
    """Find the client's own assessment of severity, urgency or impact in words."""

    name = "client-assessment"
    description = "The client assessed the report in words: 'Severity: critical', 'urgent'."
    stage = Stage.ASSESSMENT

    def check(self, report: Report) -> list[Reason]:
        subject, body = sources(report)
        reasons: list[Reason] = []
        for source, patterns in ((subject, SUBJECT_PATTERNS), (body, BODY_PATTERNS)):
            for quote, level, weight in _assessments(source, patterns):
                text = f"client assessment '{quote}' in {source.where}"
                reason = Reason(self.name, text, LEVELS[level], weight)
                if reason not in reasons:
                    reasons.append(reason)
        return reasons


def _assessments(
    source: Source, patterns: tuple[tuple[re.Pattern[str], float], ...]
) -> list[tuple[str, str, float]]:
    """(quote, level word, weight) per assessment not negated; one per stretch of text."""
    taken: list[tuple[int, int]] = []
    out = []
    for pattern, weight in patterns:
        for match in pattern.finditer(source.folded):
            start, end = match.span("mark")
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            if negated(words_before(source.folded, start)):
                continue
            level = " ".join(match.group("level").split())
            out.append((source.quote(start, end), level, weight))
    return out
