"""The change-request rule: the message asks for a change or a new feature, not a fix.

Such a message becomes a ticket of kind ``change_request``, whose one clock is the contract's
answer within ten working days, instead of an incident with P1-P4 targets. Only clear
statements count, so an incident that merely mentions a change is not taken for one:

- the subject starts with it: 'Change request: export to CSV', '[CR] ...', 'Re: [acme] Feature
  request - ...', 'Wijzigingsverzoek', 'Demande d'évolution' ('Site down after the change
  request' is an incident);
- or a body line declares it: 'Type: change request', 'Soort: feature request'.

A negated mention ('this is not a feature request') does not count.
"""

from __future__ import annotations

import re

from bot.classify.model import Reason, Report
from bot.classify.text import negated, sources, words_before

PHRASES = (
    "change request", "feature request", "enhancement request", "new feature request",
    "wijzigingsverzoek", "wijzigingsaanvraag", "verbeterverzoek", "feature verzoek",
    "demande de changement", "demande de modification", "demande d'evolution",
    "demande de fonctionnalite",
)
"""Folded (lower case, no accents)."""

_PHRASE = "|".join(re.escape(p).replace(r"\ ", r"[\s\-]+") for p in PHRASES)
_PREFIXES = "re|fw|fwd|aw|wg|tr|sv|antw|doorst|ref"
_TAG = r"\[\s*(?:cr|rfc)\s*\]"
SUBJECT = re.compile(
    rf"\A(?:\s*(?:(?:{_PREFIXES})\s*:|\[(?!\s*(?:cr|rfc)\s*\])[^\]\n]*\]))*\s*(?:new\s+)?"
    rf"(?P<mark>{_PHRASE}|{_TAG}|(?:cr|rfc)\s*:)(?![\w\-])")
"""At the start of the subject, after reply prefixes and other [tags]."""
BODY = re.compile(rf"(?m)^[ \t]*(?:type|kind|soort|categorie|category)\s*:\s*(?P<mark>{_PHRASE})"
                  r"(?![\w\-])")


class ChangeRequest:
    """Tell change and feature requests from incident reports."""

    name = "change-request"
    description = ("The subject names a change or feature request, or a body line declares "
                   "'Type: change request'.")

    def check(self, report: Report) -> Reason | None:
        subject, body = sources(report)
        for source, pattern in ((subject, SUBJECT), (body, BODY)):
            for m in pattern.finditer(source.folded):
                start, end = m.span("mark")
                if negated(words_before(source.folded, start)):
                    continue
                quote = source.quote(start, end)
                return Reason(self.name, f"{source.where} says '{quote}': a change request",
                              None, 0.9)
        return None


def change_request_reason(subject: str, body: str) -> Reason | None:
    """Why this message is a change request, or None for an incident."""
    return ChangeRequest().check(Report(subject=subject, body=body))
