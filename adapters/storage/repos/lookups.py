"""What a batch in write-behind mode read up front, kept current with what it wrote since."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from adapters.storage.writebehind import WriteBehind
from bot.model import Message


@dataclass
class Lookups:
    """What a batch read up front (``preload`` hints), kept current with what the unit of work
    wrote since; consulted only in write-behind mode, where the rows written are not yet in
    the database for a query to find."""

    wb: WriteBehind
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    message_ids: set[str] = field(default_factory=set)  # every stored copy of these is known
    thread: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    """Message-ID -> (0 received / 1 sent, row id, ticket id) of every row carrying it."""
    recipients: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    """recipient key -> (purpose, created_at) of the outbox mail queued since ``since``."""
    since: datetime | None = None

    def undoable(self, fn: Callable[[], object]) -> None:
        self.wb.on_undo(fn)

    def sent(self, message_id: str, src: int, row_id: int, ticket_id: int | None) -> None:
        if ticket_id is not None and message_id in self.thread:
            entry = (src, row_id, ticket_id)
            self.thread[message_id].append(entry)
            self.undoable(lambda: self.thread[message_id].remove(entry))

