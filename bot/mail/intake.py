"""From an accepted raw message to a ticket: parse, deduplicate, screen robots, thread, register,
acknowledge, as the steps of ``bot/mail/chain.py`` decide. One message is processed in one
transaction here; a backlog is taken several messages per transaction by the batch runner
(``adapters/mail/batch.py``), which calls ``handle`` inside its own. A crash anywhere leaves
messages pending and a retry reaches the same outcome; the acknowledgement's deterministic
Message-ID makes it sent once.

Outcomes: ``done`` (a ticket or a follow-up), ``duplicate`` (the same message came in before,
by any intake), ``ignored`` (automatic mail recorded where it belongs, mail from the bot itself,
or a refused unknown sender) and ``quarantined`` (cannot be parsed; kept raw with the reason).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from bot.clock import Clock
from bot.mail import chain
from bot.mail.context import (
    GONE,
    MAX_ATTEMPTS,
    MailContext,
    MailPolicy,
    Outcome,
    Parsed,
    ReplyHandler,
    Services,
    content_key,
    parse_all,
    parse_one,
)
from bot.model import InboundItem
from bot.policies import PolicyBook
from bot.ports import UnitOfWork
from bot.services import Helpdesk

log = logging.getLogger("supportbot.intake")

T = TypeVar("T")


class MailIntake:
    """Processes accepted mail into tickets, through the chain of steps."""

    def __init__(self, helpdesk: Helpdesk, uow: Callable[[], UnitOfWork], clock: Clock,
                 policy: MailPolicy, *, replies: Sequence[ReplyHandler] = ()) -> None:
        self.helpdesk = helpdesk
        self.replies = tuple(replies)
        self._uow = uow
        self.clock = clock
        self.policy = policy
        self.services = Services(helpdesk, policy, self.replies)

    def process(self, inbound_id: int) -> Outcome:
        """Process one accepted message; safe to call again for the same id."""
        try:
            with self._uow() as uow:
                outcome = self.handle(uow, inbound_id)
                uow.commit()
        except Exception as e:  # a bug or an outage: count it, quarantine after a few tries
            log.exception("processing inbound %s failed", inbound_id)
            with self._uow() as uow:
                state = uow.inbound.failed(inbound_id, f"{type(e).__name__}: {e}",
                                           at=self.clock.now(), max_attempts=MAX_ATTEMPTS)
                uow.commit()
            return Outcome(inbound_id, state, f"processing failed: {e}")
        log_outcome(outcome)
        return outcome

    def handle(self, uow: UnitOfWork, inbound_id: int, parsed: Parsed | None = None,
               current: InboundItem | object | None = None, key: str | None = None, *,
               services: Services | None = None, at: datetime | None = None,
               history: bool = False) -> Outcome:
        """One message through the chain, inside the caller's transaction. ``parsed``: the
        message parsed before the transaction, if it was; ``current``: its row as read (and
        locked) in this transaction, if it was (``GONE``: not found); ``key``: its
        ``content_key``, if computed already; ``services``: those of ``under``; ``at``: the
        instant the steps work at (default now); ``history``: an imported past message,
        answered to nobody (``MailContext.history``)."""
        ctx = MailContext(uow, services or self.services, inbound_id, at or self.clock.now(),
                          mail=parsed, key=key, history=history)
        if current is not None:
            ctx.read = True
            ctx.item = None if current is GONE else current  # type: ignore[assignment]
        outcome = chain.run(ctx)
        ctx.helpdesk.publish(uow)  # what the steps recorded, told before the caller commits
        return outcome

    def under(self, policies: PolicyBook) -> Services:
        """The services with every policy looked up in ``policies`` (a batch's snapshot),
        for ``handle``: so a batch is handled under one version of each policy."""
        return Services(_bound(self.helpdesk, policies), self.policy,
                        tuple(_bound(r, policies) for r in self.replies))


def _bound(service: T, policies: PolicyBook) -> T:
    """``service`` (a shallow copy), looking policies up in ``policies``; as is when it looks
    none up."""
    if not hasattr(service, "policies"):
        return service
    bound = copy.copy(service)
    bound.policies = policies  # type: ignore[attr-defined]
    return bound


def log_outcome(outcome: Outcome) -> None:
    if outcome.state != "pending":
        log.info("mail processed", extra={"inbound": outcome.inbound_id, "state": outcome.state,
                                          "action": outcome.action,
                                          "ticket": outcome.reference or "-"})


__all__ = ["GONE", "MAX_ATTEMPTS", "MailIntake", "MailPolicy", "Outcome", "Parsed",
           "ReplyHandler", "Services", "content_key", "log_outcome", "parse_all", "parse_one"]
