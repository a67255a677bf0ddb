"""Looking into the inbox and mending it, for every kind: the use cases behind
``supportbot inbox``. A retried input is processed by the running bot's sweep of its kind."""

from __future__ import annotations

from adapters.storage import Database
from adapters.storage.inbox import InboxItem, InboxStore
from adapters.storage.mend import change_one
from bot.errors import NotFound


def list_items(db: Database, *, kind: str | None = None, state: str | None = None,
               limit: int = 50) -> list[InboxItem]:
    """Newest first."""
    with db.session() as s:
        return InboxStore(s).items(kind, states=(state,) if state else (), limit=limit,
                                   newest_first=True)


def show(db: Database, item_id: int) -> InboxItem:
    with db.session() as s:
        item = InboxStore(s).get(item_id)
    if item is None:
        raise NotFound(f"no inbox input {item_id}")
    return item


def retry(db: Database, item_id: int) -> InboxItem:
    """A quarantined input is pending again, its attempts counted afresh."""
    show(db, item_id)
    return change_one(db, InboxStore, lambda store: store.requeue(item_id),
                      lambda store: store.get(item_id),
                      f"inbox input {item_id} is not quarantined")


def drop(db: Database, item_id: int, actor: str) -> InboxItem:
    """Give up on a quarantined input; its raw bytes stay stored."""
    show(db, item_id)
    return change_one(db, InboxStore, lambda store: store.drop(item_id, f"dropped by {actor}"),
                      lambda store: store.get(item_id),
                      f"inbox input {item_id} is not quarantined")
