"""What the batch runner reads ahead for a batch of mail: the hints storage takes in
write-behind mode, declared here because only the runner gives them (the chain's steps ask
their questions one message at a time and get the answers from memory)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.mail.parse import ParsedMail
from bot.mail.threading import reference_tokens, thread_keys
from bot.model import id_of_reference
from bot.ports import MessageRepository, OutboxRepository, TicketRepository, UnitOfWork


class PrefetchTickets(TicketRepository, Protocol):
    def reserve(self, n: int) -> None:
        """About ``n`` tickets will be added; take their ids together (ids left unused are
        skipped, as after a rollback)."""
        ...

    def preload(self, ticket_ids: Collection[int], *, for_update: bool = False) -> None:
        """``get`` will be asked of these tickets; read (and lock) them together now. ``get``
        then hands out the same objects for the whole block."""
        ...


class PrefetchMessages(MessageRepository, Protocol):
    def preload(self, identities: Sequence[tuple[str, str]], thread_keys: Collection[str]
                ) -> None:
        """``find`` will be asked of these (Message-ID, content hash) pairs and ``ticket_of``
        of these Message-IDs; read them together now."""
        ...


class PrefetchOutbox(OutboxRepository, Protocol):
    def preload_counts(self, recipients: Collection[str], since: datetime) -> None:
        """``count_since`` will be asked of these recipients for instants from ``since`` on;
        read them together now."""
        ...


@runtime_checkable
class PrefetchMessageIds(Protocol):
    """A repository the reply handlers look a mail's thread up in (sent reports, policy
    versions)."""

    def preload_message_ids(self, message_ids: Collection[str]) -> None:
        """Lookups by these Message-IDs will follow; read them together now."""
        ...


REPLY_REPOSITORIES = ("reports", "policy_versions")
"""Where the reply handlers (``bot/reports/approval.py``, ``bot/policy_changes.py``) look up
what a mail answers, by the unit of work's attribute names."""


class BatchUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that can also undo part of itself: several items in one transaction,
    each in a savepoint, so a failing one is rolled back alone."""

    tickets: PrefetchTickets
    messages: PrefetchMessages
    outbox: PrefetchOutbox

    def __enter__(self) -> BatchUnitOfWork: ...

    def savepoint(self) -> AbstractContextManager[object]:
        """``with uow.savepoint(): ...``: released on success, rolled back on an exception
        (which propagates); the rest of the transaction stands. In write-behind mode, raises
        ``BatchAborted`` instead when the item cannot be undone alone."""
        ...

    def write_behind(self) -> AbstractContextManager[None]:
        """``with uow.write_behind(): ...``: writes are held and sent together (one statement
        per table) before any read that may see them and when the block ends; the
        repositories' hints then answer later lookups from memory."""
        ...


def prefetch(uow: BatchUnitOfWork, keyed: Sequence[tuple[ParsedMail, str]], *,
             own_addresses: Collection[str], replies: bool, now: datetime) -> None:
    """Read up front, in a few statements, what the batch's messages will look up one by
    one: stored copies (duplicates), what their references answer (``replies``: reports and
    policy changes), the tickets they thread into, and the acknowledgements their senders got
    in the last hour."""
    if not keyed:
        return
    mails = [m for m, _ in keyed]
    refs = {k for m in mails for k in thread_keys(m)}
    refs.update(m.auto.original_message_id for m in mails
                if m.auto is not None and m.auto.original_message_id)
    uow.messages.preload([(m.message_id, key) for m, key in keyed], refs)
    if replies:
        for name in REPLY_REPOSITORIES:
            repo = getattr(uow, name, None)
            if isinstance(repo, PrefetchMessageIds):
                repo.preload_message_ids(refs)
    tickets: set[int] = set()
    new = 0  # messages likely to open a ticket: their ids are taken together
    for m, key in keyed:
        keys = [*([m.auto.original_message_id] if m.auto and m.auto.original_message_id
                  else []), *thread_keys(m)]
        tid = uow.messages.ticket_of(keys)
        tokens = [id_of_reference(token) for token in reference_tokens(m.subject)]
        tickets.update(tokens + ([tid] if tid is not None else []))
        new += (tid is None and not tokens and m.auto is None
                and (m.from_addr or "").lower() not in own_addresses
                and uow.messages.find(m.message_id, key) is None)
    uow.tickets.preload(tickets, for_update=True)
    uow.tickets.reserve(new)
    senders = {(m.from_addr or "").lower() for m in mails}
    uow.outbox.preload_counts([s for s in senders if s], now - timedelta(hours=1))
