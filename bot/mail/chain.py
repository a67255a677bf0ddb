"""The order a stored mail goes through the steps of ``bot/mail/steps/``: the first step that
decides what the message is gives its outcome."""

from __future__ import annotations

from typing import Protocol

from bot.mail.context import MailContext, Outcome
from bot.mail.steps import (
    acknowledge,
    automatic,
    client_match,
    duplicate,
    follow_up,
    null_sender,
    own_address,
    pending,
    register,
    replies,
    thread,
    unknown_sender,
    unparseable,
)


class Step(Protocol):
    """A module of ``bot/mail/steps/``."""

    NAME: str
    DESCRIPTION: str

    def run(self, ctx: MailContext) -> Outcome | None: ...


CHAIN: tuple[Step, ...] = (
    pending,
    unparseable,
    duplicate,
    own_address,
    null_sender,
    client_match,
    automatic,
    replies,
    thread,
    follow_up,
    unknown_sender,
    register,
    acknowledge,
)


def run(ctx: MailContext, chain: tuple[Step, ...] = CHAIN) -> Outcome:
    """Hand ``ctx`` to each step in turn until one decides."""
    for step in chain:
        outcome = step.run(ctx)
        if outcome is not None:
            return outcome
    raise RuntimeError(f"inbound {ctx.inbound_id}: no step of the mail chain decided")
