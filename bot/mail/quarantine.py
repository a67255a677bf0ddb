"""Mail that could not be taken, kept raw with the reason: listed, shown, processed again (after
a fix, say), or given up on (its raw bytes stay stored; it leaves the list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from bot.clock import Clock
from bot.errors import InvalidAction, NotFound
from bot.model import InboundItem
from bot.ports import UnitOfWork

T = TypeVar("T")


class Quarantine(Generic[T]):
    """``process`` handles one accepted message again (``MailIntake.process``): its outcome is
    what ``retry`` returns. ``read`` opens a read-only unit of work (default: ``uow``)."""

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock,
                 process: Callable[[int], T],
                 read: Callable[[], UnitOfWork] | None = None) -> None:
        self._uow = uow
        self._read = read or uow
        self.clock = clock
        self.process = process

    def list(self, limit: int = 1000) -> list[InboundItem]:
        with self._read() as uow:
            return uow.inbound.list("quarantined", limit=limit)

    def get(self, inbound_id: int) -> InboundItem:
        """A quarantined (or dropped) message; NotFound for any other."""
        with self._read() as uow:
            item = uow.inbound.get(inbound_id)
        if item is None or item.state not in ("quarantined", "dropped"):
            raise NotFound(f"no quarantined message {inbound_id}")
        return item

    def retry(self, inbound_id: int) -> T:
        """Put the message back in the queue and process it now."""
        self.get(inbound_id)
        with self._uow() as uow:
            if not uow.inbound.requeue(inbound_id):
                raise InvalidAction(f"message {inbound_id} is not quarantined")
            uow.commit()
        return self.process(inbound_id)

    def drop(self, inbound_id: int, actor: str) -> None:
        self.get(inbound_id)
        with self._uow() as uow:
            uow.inbound.finish(inbound_id, "dropped", at=self.clock.now(),
                               reason=f"dropped by {actor}")
            uow.commit()
