"""The periodic job of ``supportbot run`` that tends tickets waiting for the client: the nudge
at half-time and the resolution at the end of the policy's ``[waiting] after``
(``Helpdesk.tend_waiting``; the mails go through the outbox, which ``after`` wakes)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.services import Helpdesk

log = logging.getLogger("supportbot.waiting")


class WaitingSweep:
    def __init__(self, helpdesk: Helpdesk, after: Callable[[], None] | None = None) -> None:
        self.helpdesk = helpdesk
        self.after = after

    def __call__(self) -> int:
        done = self.helpdesk.tend_waiting()
        for ref, step in done:
            log.info("waiting ticket tended", extra={"ticket": ref, "step": step})
        if done and self.after is not None:
            self.after()
        return len(done)
