"""Looking into the outbox and mending it: the use cases behind ``supportbot outbox``."""

from __future__ import annotations

from adapters.storage import Database
from adapters.storage.mend import change_one
from adapters.storage.outbox import OutboxItem, OutboxStore
from bot.clock import Clock
from bot.errors import NotFound


def list_items(db: Database, *, kind: str | None = None, state: str | None = None,
               limit: int = 50) -> list[OutboxItem]:
    """Newest first."""
    with db.session() as s:
        return OutboxStore(s).items(kind=kind, state=state, limit=limit)


def show(db: Database, item_id: int) -> OutboxItem:
    with db.session() as s:
        item = OutboxStore(s).get(item_id)
    if item is None:
        raise NotFound(f"no outbox mail {item_id}")  # the words of the mail-only outbox
    return item


def retry(db: Database, clock: Clock, item_id: int, actor: str) -> OutboxItem:
    """A failed (or dropped) item is due again now, its attempts counted afresh."""
    show(db, item_id)
    return change_one(db, OutboxStore,
                      lambda store: store.requeue(item_id, clock.now(), f"retried by {actor}"),
                      lambda store: store.get(item_id),
                      f"outbox item {item_id} has not failed and is not dropped")


def drop(db: Database, item_id: int, actor: str) -> OutboxItem:
    """Give up on a pending or failed item: it is never delivered and stays on record."""
    show(db, item_id)
    return change_one(db, OutboxStore, lambda store: store.drop(item_id, f"dropped by {actor}"),
                      lambda store: store.get(item_id),
                      f"outbox item {item_id} is not pending or failed")
