"""One sign that a message is automatic mail, as the detectors of ``bot/mail/loops.py`` and
``bot/mail/robots.py`` yield them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.mail.model import AutoKind


@dataclass(frozen=True)
class Signal:
    """``strong`` signs decide alone; weak ones need a weak sign of another ``group``."""

    kind: AutoKind
    strong: bool
    reason: str
    group: str
