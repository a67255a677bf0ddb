"""The one error the mail package raises on purpose."""

from __future__ import annotations

from bot.errors import SupportbotError


class Unparseable(SupportbotError):
    """Input that can never be taken as a mail message (empty, binary, no header at all).

    Everything else is tolerated and parsed, with what was repaired listed in
    ``ParsedMail.defects``; the caller keeps the raw bytes either way.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"unparseable mail: {reason}")

    def __reduce__(self) -> tuple[type[Unparseable], tuple[str]]:
        return Unparseable, (self.reason,)
