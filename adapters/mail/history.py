"""Bringing a mailbox's history in as tickets (``supportbot import``).

Each message goes through the mail chain as live mail does (parsed, deduplicated against what
is stored by Message-ID and content, threaded, registered), but at its own date: the chain's
instant is the message's ``Date`` (never after now; now when it has none), so reports cover the
past. Nobody is answered: the chain's ``history`` flag leaves out the acknowledgement and the
"not registered" reply, and of the helpdesk's listeners only those that send nothing run
(``outward = False``: re-planning reminders); the mail, Slack and phone notifiers are left out,
so an old P1 pages nobody and posts nothing. A listener that does not say is left out.
A message stored by an import (channel ``import``) stays history when it is processed later,
say retried from quarantine: the chain takes it at its date, and ``bot.listeners`` tells the
outward listeners nothing of the registration of an imported ticket.

One transaction per message: its inbound row, keyed by the hash of its raw bytes
(``history_key``), commits with its outcome. A run stopped anywhere (Ctrl-C) leaves each
message imported or not at all, and the next run skips every message whose key is stored.
A message that cannot be taken, or whose processing fails, is quarantined; never fatal.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapters.storage import UnitOfWorks
from bot.clock import Clock
from bot.mail.context import HISTORY_CHANNEL
from bot.mail.intake import MailIntake, Services, parse_one
from bot.mail.parse import ParsedMail

log = logging.getLogger("supportbot.import")


CHANNEL = HISTORY_CHANNEL


def history_key(raw: bytes) -> str:
    """The inbound key of an imported message: the same bytes are imported once."""
    return "import:" + hashlib.sha256(raw).hexdigest()


@dataclass
class Summary:
    """What an import did, by outcome."""

    seen: int = 0
    taken: int = 0
    duplicates: int = 0
    before: int = 0
    """Of the duplicates: imported by an earlier run (skipped without being parsed)."""
    quarantined: int = 0
    ignored: int = 0

    def count(self, state: str) -> None:
        self.seen += 1
        if state == "before":
            self.before += 1
            self.duplicates += 1
        elif state == "done":
            self.taken += 1
        elif state == "duplicate":
            self.duplicates += 1
        elif state == "quarantined":
            self.quarantined += 1
        else:
            self.ignored += 1

    def line(self) -> str:
        return (f"{self.seen} messages: {self.taken} taken, {self.duplicates} duplicates "
                f"({self.before} imported before), {self.quarantined} quarantined, "
                f"{self.ignored} ignored")


class HistoryImport:
    """Imports messages one by one (``take``) or a whole mailbox (``run``)."""

    def __init__(self, uow: UnitOfWorks, intake: MailIntake, clock: Clock, *,
                 source: str) -> None:
        self.uow = uow
        self.intake = intake
        self.clock = clock
        self.source = source[:200]
        quiet = copy.copy(intake.helpdesk)
        # follow-ups too (``bot.listeners`` keeps quiet about registrations only)
        quiet.listeners = [listener for listener in intake.helpdesk.listeners
                           if getattr(listener, "outward", True) is False]
        self.services = Services(quiet, intake.policy, intake.replies)

    def run(self, messages: Iterable[bytes], summary: Summary,
            progress: Callable[[Summary], None] | None = None) -> Summary:
        """Take each message, counting it in ``summary`` (kept up to date, so a caller that
        is interrupted can still tell what was done)."""
        for raw in messages:
            summary.count(self.take(raw))
            if progress is not None:
                progress(summary)
        return summary

    def take(self, raw: bytes) -> str:
        """Import one message: its outcome's state, or ``before`` when an earlier run did."""
        key = history_key(raw)
        with self.uow.reader() as uow:
            if uow.inbound.known_keys([key]):
                return "before"
        parsed = parse_one(raw, self.intake.policy.limits)
        now = self.clock.now()
        at = now
        if isinstance(parsed, ParsedMail) and parsed.date is not None:
            at = min(parsed.date, now)
        try:
            with self.uow() as uow:
                inbound_id = uow.inbound.add(raw, key=key, channel=CHANNEL, peer=self.source,
                                             at=now)
                outcome = self.intake.handle(uow, inbound_id, parsed, services=self.services,
                                             at=at, history=True)
                uow.commit()
        except Exception as e:  # a bug or bad data: keep the message, go on with the next
            log.exception("importing a message from %s failed", self.source)
            with self.uow() as uow:
                inbound_id = uow.inbound.add(raw, key=key, channel=CHANNEL, peer=self.source,
                                             at=now)
                state = uow.inbound.failed(inbound_id, f"{type(e).__name__}: {e}", at=now,
                                           max_attempts=1)
                uow.commit()
            return state
        return outcome.state
