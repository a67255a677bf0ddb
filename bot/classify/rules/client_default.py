"""The client-default rule: the fallback when nothing stronger decides."""

from __future__ import annotations

from bot.classify.model import Reason, Report, Stage
from bot.priority import Priority

POLICY_DEFAULT = Priority.P3
WEIGHT = 0.3
WEIGHT_WITHOUT_CLIENT_DEFAULT = 0.25


class ClientDefault:
    """Fall back to the client's configured default priority, or P3 when it has none."""

    name = "client-default"
    description = "The client's default priority (P3 if none), used when nothing else decides."
    stage = Stage.FALLBACK

    def check(self, report: Report) -> list[Reason]:
        if report.client_default is not None:
            text = f"no stronger signal: client default {report.client_default}"
            return [Reason(self.name, text, report.client_default, WEIGHT)]
        text = f"no stronger signal and no client default: {POLICY_DEFAULT}"
        return [Reason(self.name, text, POLICY_DEFAULT, WEIGHT_WITHOUT_CLIENT_DEFAULT)]
