"""The composition root: settings in, a wired application out. Nothing is built at import time."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.storage import Database, SqlUnitOfWork
from adapters.system_clock import SystemClock
from bot.clock import Clock
from bot.policies import PolicyBook
from bot.services import Helpdesk
from config.settings import Settings


@dataclass
class App:
    settings: Settings
    db: Database
    helpdesk: Helpdesk
    clock: Clock

    def close(self) -> None:
        self.db.dispose()


def open_database(settings: Settings) -> Database:
    """The configured database, not yet checked or upgraded."""
    s = settings.storage
    return Database(s.url, schema=s.schema_, echo=s.echo)


def bootstrap(settings: Settings, *, clock: Clock | None = None, upgrade: bool | None = None,
              sync_directory: bool = True) -> App:
    """Open storage (upgrading the schema if allowed), build the services, sync clients/staff."""
    db = open_database(settings)
    if settings.storage.auto_upgrade if upgrade is None else upgrade:
        db.upgrade()
    db.check()
    clock = clock or SystemClock()
    helpdesk = Helpdesk(lambda: SqlUnitOfWork(db), clock,
                        PolicyBook(settings.policies.default, settings.policies.paths))
    if sync_directory:
        helpdesk.sync_directory(settings.client_objects(), settings.staff_objects())
    return App(settings, db, helpdesk, clock)
