"""The explicit-marker rule: the client wrote the priority itself ([P1], 'Priority: P2')."""

from __future__ import annotations

import re

from bot.classify.model import Reason, Report, Stage
from bot.classify.text import Source, negated, sources, words_before
from bot.priority import Priority

WEIGHT = 0.95

FIELD_NAMES = ("priority", "prioriteit", "priorite", "prio", "severity", "severite", "sev")
"""Field names (folded) that may carry a P-level: 'Priority: P2', 'Priorité : 2'."""

REPLY_PREFIXES = ("re", "fw", "fwd", "aw", "wg", "tr", "sv", "antw", "doorst", "ref")
"""Subject prefixes skipped before a leading 'P1:'."""

_FIELD = "|".join(FIELD_NAMES)
_PREFIXES = "|".join(REPLY_PREFIXES)
_END = r"(?![\w\-])(?![.,]\d)"

BRACKETED = rf"(?P<mark>[\[(]\s*(?:(?:{_FIELD})\s*[:=]?\s*)?p?\s?(?P<level>[1-4])\s*[\])])"
"""'[P1]', '(P2)', '[Prio 1]'."""

FIELD = rf"(?P<mark>(?<![\w\-])(?:{_FIELD})(?:\s*[:=]\s*|\s+)p\s?(?P<level>[1-4]){_END})"
"""'Priority: P2', 'Prio P1', 'Severity=p3'."""

FIELD_DIGIT = rf"(?P<mark>(?<![\w\-])(?:{_FIELD})\s*[:=]\s*(?P<level>[1-4]){_END})"
"""'Prio: 2', 'Priorité : 1' (a bare digit needs the colon)."""

SEV = rf"(?P<mark>(?<![\w\-])sev[\s\-]?(?P<level>[1-4]){_END})"
"""'SEV1', 'sev-2'."""

LEADING = (
    rf"\A(?:\s*(?:(?:{_PREFIXES})\s*:|\[[^\]\n]*\]))*\s*"
    r"(?P<mark>p(?P<level>[1-4])(?:\s*:|\s+[-\u2013\u2014](?=\s)))"
)
"""'P1: site down', 'Re: P2 - slow search' at the very start."""

LINE_START = r"(?m)^[ \t]*(?:[-*\u2022][ \t]*)?"

SUBJECT_PATTERNS = (
    (re.compile(LEADING), "subject starts with '{quote}'"),
    (re.compile(BRACKETED), "subject carries {quote}"),
    (re.compile(FIELD), "subject says '{quote}'"),
    (re.compile(FIELD_DIGIT), "subject says '{quote}'"),
    (re.compile(SEV), "subject says '{quote}'"),
)

BODY_PATTERNS = (
    (re.compile(LEADING), "body starts with '{quote}'"),
    (re.compile(LINE_START + BRACKETED), "body line starts with {quote}"),
    (re.compile(LINE_START + FIELD), "body says '{quote}'"),
    (re.compile(LINE_START + FIELD_DIGIT), "body says '{quote}'"),
    (re.compile(SEV), "body says '{quote}'"),
)
"""In the body only line-leading markers count: '(P2)' mid-sentence may cite the policy."""


class ExplicitMarker:
    """Find priority markers the client wrote in the subject or body."""

    name = "explicit-marker"
    description = "The client marked the report with a priority: [P1], 'P2:', 'Priority: P3'."
    stage = Stage.EXPLICIT

    def check(self, report: Report) -> list[Reason]:
        subject, body = sources(report)
        reasons: list[Reason] = []
        for source, patterns in ((subject, SUBJECT_PATTERNS), (body, BODY_PATTERNS)):
            for text, priority in _markers(source, patterns):
                reason = Reason(self.name, text, priority, WEIGHT)
                if reason not in reasons:
                    reasons.append(reason)
        return reasons


def _markers(
    source: Source, patterns: tuple[tuple[re.Pattern[str], str], ...]
) -> list[tuple[str, Priority]]:
    """(reason text, priority) for each marker not negated; one per stretch of text."""
    taken: list[tuple[int, int]] = []
    out = []
    for pattern, template in patterns:
        for match in pattern.finditer(source.folded):
            start, end = match.span("mark")
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            if negated(words_before(source.folded, start)):
                continue
            quote = source.quote(start, end)
            out.append((template.format(quote=quote), Priority.parse(match.group("level"))))
    return out
