"""The MTA pipe's fast path: store the raw bytes durably and leave the work to the running bot.

A mail server runs ``supportbot ingest`` once per message, so the command must be cheap: when a
bot runs on the same database, ``ingest`` commits the message into the inbox table (``inbound``,
state ``pending``) and exits 0; the bot's intake worker, which sweeps pending mail every few
seconds (``adapters/mail/worker.py``), makes the ticket. When no bot runs, the command processes
the message itself, as before (the slow path in ``adapters/cli/mail.py``).

How ``ingest`` knows a bot runs: every ``supportbot run`` holds a *shared* intake lock for as
long as its intake worker runs: on SQLite a shared ``flock`` on ``DBFILE.intake.lock`` beside the
database file, on PostgreSQL a shared session advisory lock keyed by the schema. ``ingest`` tries
the *exclusive* form without waiting: refused means some bot holds it. The kernel (SQLite) or the
server (PostgreSQL, the session's end) drops the lock when a bot dies, so a crashed bot never
makes the pipe leave mail unprocessed; a stale heartbeat row could.

Only the DB-API driver is used here (``sqlite3``, ``psycopg``), not SQLAlchemy or the settings'
models: importing those costs more than the whole store. The path is an optimisation only:
anything it does not know for sure (a settings file it cannot read plainly, a schema that is not
the current one, an in-memory database) answers ``None`` and the command takes the full path,
which reports mistakes naming the key and the file. ``tests/test_ingest_fast.py`` checks that a
message stored here is the row the full path stores.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bot.errors import ConfigError
from config.env import ENV_PREFIX, apply_env

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from adapters.storage import Database

SCHEMA_VERSION = 15
"""The schema the rows below are written for (``adapters.storage.database.SCHEMA_VERSION``; a
test keeps the two equal). Another version: the fast path steps aside."""

_COLUMNS = ("kind", "key", "received_at", "channel", "peer", "mail_from", "rcpt_to", "raw",
            "size", "state", "reason", "attempts")


@dataclass(frozen=True)
class Target:
    """Where the pipe stores: a SQLite file or a PostgreSQL URL, with its schema."""

    dialect: str  # "sqlite" or "postgresql"
    location: str  # the SQLite file (absolute) or the libpq URL
    schema: str | None = None


def lock_key(schema: str | None) -> int:
    """The intake lock's signed 64-bit advisory key for a PostgreSQL schema."""
    name = f"supportbot-intake:{schema or 'public'}".encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


def sqlite_lock_path(database: str) -> Path:
    return Path(os.path.abspath(database + ".intake.lock"))


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


def store_if_bot_runs(target: Target, messages: Sequence[bytes],
                      now: datetime | None = None) -> list[int] | None:
    """Store ``messages`` (all or none, in one transaction) if a bot runs on ``target``:
    their inbound ids; None when no bot runs or the schema is not the one expected (nothing is
    stored then). Raises the driver's errors when storing fails."""
    now = now or datetime.now(UTC)
    if target.dialect == "sqlite":
        return _store_sqlite(target.location, messages, now)
    return _store_postgresql(target, messages, now)


def _rows(messages: Sequence[bytes], received_at: object) -> list[tuple[object, ...]]:
    return [("mail", None, received_at, "pipe", "pipe", "", json.dumps([]), m, len(m),
             "pending", "", 0) for m in messages]


def _bot_holds(path: Path) -> bool:
    """Whether a running bot holds the shared intake lock beside the SQLite file."""
    if not path.exists():
        return False
    with path.open("rb") as fh:  # read-only is enough for flock: the MTA's user may not write it
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False


def _store_sqlite(database: str, messages: Sequence[bytes], now: datetime) -> list[int] | None:
    import sqlite3

    if not os.path.exists(database) or not _bot_holds(sqlite_lock_path(database)):
        return None
    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=FULL")  # as the bot's own connections: durable
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _version(conn.execute("SELECT version FROM schema_version WHERE id = 1")
                        .fetchone()) != SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                return None
            # the text SQLAlchemy writes for a DateTime on SQLite
            stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            ids = [conn.execute(_INSERT.replace("%s", "?"), row).fetchone()[0]
                   for row in _rows(messages, stamp)]
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return ids
    finally:
        conn.close()


def _store_postgresql(t: Target, messages: Sequence[bytes],
                      now: datetime) -> list[int] | None:
    import psycopg

    options = f"-csearch_path={t.schema}" if t.schema else ""
    with psycopg.connect(t.location, options=options) as conn, conn.cursor() as cur:
        # the exclusive form of the lock every bot holds shared: granted means no bot runs
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(t.schema),))
        if _version(cur.fetchone()):
            conn.rollback()
            return None
        cur.execute("SELECT version FROM schema_version WHERE id = 1")
        if _version(cur.fetchone()) != SCHEMA_VERSION:
            conn.rollback()
            return None
        ids = []
        for row in _rows(messages, now):
            cur.execute(_INSERT, row)
            ids.append(_version(cur.fetchone()))
        conn.commit()
        return ids


def _version(row: tuple[Any, ...] | None) -> Any:
    return row[0] if row else None


_INSERT = (f"INSERT INTO inbound ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('%s' for _ in _COLUMNS)}) RETURNING id")


# -- the bot's side ----------------------------------------------------------------------------

class IntakePresence:
    """Held by ``supportbot run`` while its intake worker runs: tells ``ingest`` that stored
    mail will be processed. ``hold()`` once at start, ``release()`` at stop."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._fh: IO[bytes] | None = None
        self._conn: Connection | None = None

    def hold(self) -> None:
        if self.db.dialect == "postgresql":
            from sqlalchemy import text

            self._conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._conn.execute(text("SELECT pg_advisory_lock_shared(:k)"),
                               {"k": lock_key(self.db.schema)})
            return
        database = self.db.url.database
        if not database or database == ":memory:":
            return  # no other process can see this database
        self._fh = sqlite_lock_path(database).open("ab")
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the lock
            self._fh = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()  # the session ends, and its lock with it
                self._conn.close()
            self._conn = None


@contextlib.contextmanager
def presence(db: Database) -> Iterator[IntakePresence]:
    p = IntakePresence(db)
    p.hold()
    try:
        yield p
    finally:
        p.release()
