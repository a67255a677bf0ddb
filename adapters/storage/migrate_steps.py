"""What the one-inbox and one-outbox migrations do alike: add the columns a table lacks (and
its indexes), then move an old table's rows in and drop it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, inspect, select, text


def add_columns(conn: Connection, table: Table, columns: Sequence[tuple[str, str]],
                *, after: Callable[[Connection], None] | None = None) -> None:
    """Add each ``(name, ddl)`` the table lacks (``{instant}`` in a ddl is the dialect's
    timestamp type), run ``after`` (a backfill), then create the table's missing indexes."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    instant = "DATETIME" if conn.dialect.name == "sqlite" else "TIMESTAMP WITHOUT TIME ZONE"
    for name, ddl in columns:
        if name not in have:
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" '
                              f'{ddl.replace("{instant}", instant)}'))
    if after is not None:
        after(conn)
    for ix in table.indexes:
        ix.create(conn, checkfirst=True)


def move_rows(conn: Connection, old: Table, new: Table,
              convert: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Every row of ``old`` (oldest first), converted, into ``new``; then ``old`` is dropped.
    Nothing happens when ``old`` is not there (a database made after it went)."""
    if not inspect(conn).has_table(old.name):
        return
    rows = [convert(dict(r._mapping)) for r in conn.execute(select(old).order_by(old.c.id))]
    if rows:
        conn.execute(insert(new), rows)
    old.drop(conn)
