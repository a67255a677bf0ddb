"""Engines, connection settings and schema versions for SQLite and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed row survives power loss) and takes
its write lock at ``BEGIN IMMEDIATE`` for write transactions, so two processes never both read a
ticket's state and then both append to it. PostgreSQL uses row locks (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, select

import adapters.storage.tables as tables
from adapters.storage import staff_tables
from adapters.storage.migrate_inbox import one_inbox
from adapters.storage.migrate_outbox import claim_owner, one_outbox
from adapters.storage.tracker_tables import TrackerHookRow, TrackerLinkRow
from bot.errors import StorageError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _create(*rows: type[SQLModel]) -> Callable[[Connection], None]:
    def step(conn: Connection) -> None:
        for row in rows:
            row.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    return step


def staff_role(conn: Connection) -> None:
    """13: each staff member's role (``manager``, ...)."""
    from adapters.storage.migrate_steps import add_columns

    add_columns(conn, tables.StaffRow.__table__, (("role", "VARCHAR"),))  # type: ignore[attr-defined]


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _create(tables.ClientRow, tables.StaffRow, tables.TicketRow, tables.EventRow,
               tables.MessageRow),
    2: _create(tables.InboundRow, tables.MailboxStateRow, tables.OutboxRow),
    3: _create(tables.ReminderRow, tables.ReplanRow),
    4: tables.create_report_tables,
    5: lambda conn: _slack_schema(conn),
    6: _create(tables.PageRow, tables.PageAttemptRow, tables.PhoneCallRow, tables.PhoneSmsRow,
               tables.WebhookSeenRow),
    8: _create(tables.MaintenanceRow, tables.PolicyVersionRow),
    9: one_outbox,
    10: one_inbox,
    11: claim_owner,
    12: _create(TrackerLinkRow, TrackerHookRow),
    13: staff_role,
    14: lambda conn: _client_rates(conn),
    15: _create(staff_tables.StaffAccountRow, staff_tables.LoginFailureRow),
    16: _create(tables.SlackHomeRow),
}
"""Version -> the step from the version before to it. Append, never edit: each step names its
own tables, so upgrading from any version gives the same schema as a fresh database.
Numbers: 3 reminders, 4 reports, 5 Slack, 6 Twilio, 8 maintenance windows and policy versions
(7 was reserved and not used), 9 one outbox for every kind (Slack's queue moved in),
10 one inbox for every intake (Slack's events moved in), 11 outbox claims name their owner,
12 the joint trackers' links (``tracker_link``: a ticket's Jira issue, Trello card, Asana task;
``tracker_hook``: the secrets of Asana's webhook handshakes),
13 staff have a role (``manager``: told at the escalation ladder's steps that name it),
14 clients' hourly rates and Slack contacts, and the invoice figures of sent reports,
15 the dashboard's staff accounts and failed sign-ins,
16 the Slack App Homes the bot keeps current (``slack_home``)."""


def _slack_schema(conn: Connection) -> None:
    """5: each client's Slack triage channel, and the Slack tables."""
    from sqlalchemy import inspect

    if "triage_channel" not in {c["name"] for c in inspect(conn).get_columns("client")}:
        conn.execute(text("ALTER TABLE client ADD COLUMN triage_channel VARCHAR"))
    _create(tables.SlackEventRow, tables.SlackThreadRow, tables.SlackOutboxRow)(conn)


def _client_rates(conn: Connection) -> None:
    """14: each client's hourly rates per priority (JSON, ``{}`` for a flat fee) and Slack
    contacts, and the invoice figures of each report sent for approval (what the client
    accepts)."""
    from sqlalchemy import inspect

    columns = {c["name"] for c in inspect(conn).get_columns("client")}
    if "rates" not in columns:
        conn.execute(text("ALTER TABLE client ADD COLUMN rates JSON NOT NULL DEFAULT '{}'"))
    if "slack_users" not in columns:
        conn.execute(text("ALTER TABLE client ADD COLUMN slack_users JSON NOT NULL DEFAULT '[]'"))
    if "figures" not in {c["name"] for c in inspect(conn).get_columns("sent_report")}:
        conn.execute(text("ALTER TABLE sent_report ADD COLUMN figures TEXT NOT NULL DEFAULT ''"))


SCHEMA_VERSION = max(MIGRATIONS)
"""The schema this code needs. ``supportbot db upgrade`` brings a database up to it."""


class Database:
    """A configured database: engines plus schema management."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StorageError(f"storage.url {url!r} is not a database URL "
                               "(expected e.g. sqlite:///supportbot.db)") from None
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed
        self.dialect = parsed.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise StorageError(f"storage.url: {self.dialect!r} is not supported "
                               "(use sqlite:/// or postgresql://)")
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise StorageError(f"storage.schema {schema!r} is not a plain lower-case SQL name")
        self.schema = schema
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        elif schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        self.engine: Engine = create_engine(parsed, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)
        self.write_engine: Engine = self.engine.execution_options(supportbot_write=True)
        self.on_dispose: list[Callable[[], None]] = []
        """Called by ``dispose`` first: what holds connections of its own (outbox owners)."""

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    def session(self, *, write: bool = False) -> Session:
        return Session(self.write_engine if write else self.engine, expire_on_commit=False)

    # -- schema ----------------------------------------------------------------------------

    def current_version(self) -> int:
        """The schema version stored in the database; 0 for an empty database."""
        try:
            with self.session() as s:
                row = s.get(tables.SchemaVersionRow, 1)
                return row.version if row else 0
        except (OperationalError, ProgrammingError) as e:
            if _is_missing_table(e):
                return 0
            raise StorageError(f"cannot read the database at {self!r}: {_first_line(e)}") from None

    def upgrade(self, now: datetime | None = None) -> tuple[int, int]:
        """Apply the missing migrations in one transaction; returns (from, to) versions."""
        try:
            with self.write_engine.begin() as conn:
                if self.dialect == "postgresql":
                    if self.schema:
                        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                    conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
                tables.SchemaVersionRow.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
                row = conn.execute(select(tables.SchemaVersionRow.version)).first()
                before = row[0] if row else 0
                if before > SCHEMA_VERSION:
                    raise StorageError(f"the database schema is at version {before}, newer than "
                                       f"this supportbot ({SCHEMA_VERSION}): upgrade supportbot")
                for version in sorted(v for v in MIGRATIONS if v > before):
                    MIGRATIONS[version](conn)
                stamp = now or datetime.now(UTC)
                if row:
                    conn.execute(tables.SchemaVersionRow.__table__.update().values(  # type: ignore[attr-defined]
                        version=SCHEMA_VERSION, upgraded_at=stamp))
                else:
                    conn.execute(tables.SchemaVersionRow.__table__.insert().values(  # type: ignore[attr-defined]
                        id=1, version=SCHEMA_VERSION, upgraded_at=stamp))
                return before, SCHEMA_VERSION
        except (OperationalError, ProgrammingError) as e:
            raise StorageError(f"cannot upgrade the database at {self!r}: {_first_line(e)}") \
                from None

    def check(self) -> None:
        """Raise StorageError unless the schema is the one this code needs."""
        v = self.current_version()
        if v != SCHEMA_VERSION:
            raise StorageError(f"the database schema is at version {v}, this supportbot needs "
                               f"{SCHEMA_VERSION}: run `supportbot db upgrade`")

    def drop_schema(self) -> None:
        """Remove every table (tests only: PostgreSQL drops the whole schema)."""
        with self.write_engine.begin() as conn:
            if self.dialect == "postgresql" and self.schema:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            else:
                SQLModel.metadata.drop_all(conn)

    def dispose(self) -> None:
        for close in self.on_dispose:
            close()
        self.engine.dispose()


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("supportbot_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def as_utc(dt: datetime) -> datetime:
    """An instant read back from storage, aware UTC (SQLite hands them back naive; they were
    stored as UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _is_missing_table(e: Exception) -> bool:
    msg = str(e).lower()
    return "no such table" in msg or "does not exist" in msg or "undefinedtable" in msg


def _first_line(e: Exception) -> str:
    orig = getattr(e, "orig", None) or e
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def absent_values(session: Session, column: Any, values: Collection[str]) -> set[str]:
    """Which of ``values`` no row has in ``column`` (one statement per 500 values)."""
    wanted = sorted(set(values))
    absent: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found = set(session.exec(select(column).where(column.in_(chunk))))
        absent.update(set(chunk) - found)
    return absent
