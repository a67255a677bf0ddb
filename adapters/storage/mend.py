"""An operator's change to one stored item (``inbox``/``outbox`` retry and drop), one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from adapters.storage.database import Database
from adapters.storage.writelock import WriteTurn
from bot.errors import InvalidAction

S = TypeVar("S")
T = TypeVar("T")


def change_one(db: Database, open_store: Callable[[Session], S], change: Callable[[S], bool],
               read: Callable[[S], T | None], refusal: str) -> T:
    """In the write turn, ``change`` says whether it applied (else InvalidAction with
    ``refusal``); committed, then the item as it now stands (``read``)."""
    with WriteTurn(db), db.session(write=True) as s:
        store = open_store(s)
        if not change(store):
            raise InvalidAction(refusal)
        s.commit()
        item = read(store)
    assert item is not None
    return item
