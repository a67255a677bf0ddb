"""The database without SQLAlchemy: for the commands people wait on (the MTA pipe's
``ingest``, ``tickets list``), where importing SQLAlchemy, SQLModel and the storage models costs
more than the work itself (about 320 ms of CPU before the first query).

Only the DB-API drivers are used (stdlib ``sqlite3``; ``psycopg`` for PostgreSQL). Every
caller is an optimisation with a full path beside it: anything not known for sure (a settings
file that is not plain TOML, an in-memory database, a schema other than ``SCHEMA_VERSION``)
answers ``None``, and the command takes the full path, which reports mistakes naming the key
and the file. Tests check that what these paths store or read is what the full path does.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError
from bot.model import Channel, Event, EventKind, TicketStatus
from bot.priority import Priority
from config.env import ENV_PREFIX, apply_env

if TYPE_CHECKING:
    from bot.ticket import Ticket

SCHEMA_VERSION = 16
"""The schema the direct paths read and write (``adapters.storage.database.SCHEMA_VERSION``;
a test keeps the two equal). Another version: the direct path steps aside."""


@dataclass(frozen=True)
class Target:
    """A store named by ``storage.url``: a SQLite file or a PostgreSQL URL, with its schema."""

    dialect: str  # "sqlite" or "postgresql"
    location: str  # the SQLite file (absolute) or the libpq URL
    schema: str | None = None


def target_of(url: str, schema: str | None) -> Target | None:
    """The store a ``storage.url`` names, or None when the fast path does not take it."""
    if url.startswith("sqlite:///"):
        database = url.removeprefix("sqlite:///").split("?", 1)[0]
        if not database or database == ":memory:":
            return None
        return Target("sqlite", os.path.abspath(database))
    for prefix in ("postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return Target("postgresql", "postgresql://" + url.removeprefix(prefix), schema)
    return None


def target_from_settings(config: Path | None, env: Mapping[str, str] | None = None,
                         cwd: Path | None = None) -> Target | None:
    """The storage the settings name, read as ``config.settings.load_settings`` finds them
    (``--config``, ``$SUPPORTBOT_CONFIG``, ``./supportbot.toml``; ``SUPPORTBOT_*`` variables
    win), or None when anything is not plain (the full path then says why)."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    explicit = config or env.get(ENV_PREFIX + "CONFIG")
    file = Path(explicit) if explicit else None
    if file is None and (cwd / "supportbot.toml").is_file():
        file = cwd / "supportbot.toml"
    if file is not None and not file.is_absolute():
        file = cwd / file
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
    try:
        apply_env(data, env)
    except ConfigError:
        return None
    storage = data.get("storage", {})
    if not isinstance(storage, dict):
        return None
    url = storage.get("url", "sqlite:///supportbot.db")
    schema = storage.get("schema")
    if not isinstance(url, str) or not (schema is None or isinstance(schema, str)):
        return None
    if schema is not None and not (schema.isidentifier() and schema == schema.lower()):
        return None
    return target_of(url, schema)


def first_value(row: tuple[Any, ...] | None) -> Any:
    return row[0] if row else None


def read_instant(value: Any) -> datetime:
    """An instant as a driver hands it back, aware UTC: SQLite gives the text SQLAlchemy wrote
    (``2026-12-02 16:00:00.000000``), naive UTC; psycopg a naive ``datetime`` in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ticket_of(row: Mapping[str, Any], client_name: str, events: list[Event]) -> Ticket:
    """The ticket a ``ticket`` table row holds (columns by name), with its client's name and
    its events: how the repository and the direct reader alike rebuild the aggregate."""
    from bot.ticket import Ticket

    return Ticket(
        client_id=row["client_id"], client_name=client_name, policy=row["policy"],
        subject=row["subject"], priority=Priority(row["priority"]),
        channel=Channel(row["channel"]), status=TicketStatus(row["status"]),
        created_at=read_instant(row["created_at"]), requester=row["requester"],
        body=row["body"], kind=row["kind"], assignee=row["assignee"], id=row["id"],
        events=events,
    )


def event_of(row: Mapping[str, Any], data: Mapping[str, Any]) -> Event:
    """The event an ``event`` table row holds, its ``data`` column already decoded."""
    return Event(kind=EventKind(row["kind"]), at=read_instant(row["at"]), actor=row["actor"],
                 data=dict(data), ticket_id=row["ticket_id"], id=row["id"])
