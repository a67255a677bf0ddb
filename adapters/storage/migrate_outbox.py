"""Migration 9: one outbox. The mail outbox gains a kind, a dedupe key, a channel and a
payload; the Slack queue's rows (pending ones included) move into it and its table goes.
Migration 11: each claim names its owner (``claimed_by``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, update

from adapters.storage.migrate_steps import add_columns, move_rows
from adapters.storage.tables import OutboxRow, SlackOutboxRow

_COLUMNS = (("kind", "VARCHAR NOT NULL DEFAULT 'mail'"), ("key", "VARCHAR"),
            ("channel", "VARCHAR NOT NULL DEFAULT ''"), ("payload", "JSON NOT NULL DEFAULT '{}'"))


def one_outbox(conn: Connection) -> None:
    """9: the outbox for every kind; Slack's queued work moved in."""
    outbox: Table = OutboxRow.__table__  # type: ignore[attr-defined]
    add_columns(conn, outbox, _COLUMNS, after=lambda c: c.execute(
        update(outbox).where(outbox.c.kind == "mail", outbox.c.key.is_(None))
        .values(key=outbox.c.message_id)))
    move_rows(conn, SlackOutboxRow.__table__, outbox, slack_row)  # type: ignore[attr-defined]


def slack_row(old: dict[str, Any]) -> dict[str, Any]:
    """A ``slack_outbox`` row as an ``outbox`` row of kind ``slack``."""
    return {
        "created_at": old["created_at"], "ticket_id": old["ticket_id"], "kind": "slack",
        "key": old["key"], "channel": old["channel"], "payload": dict(old["payload"] or {}),
        "purpose": old["kind"], "sender": "", "recipients": [], "recipient_key": "",
        "message_id": f"slack:{old['key']}", "subject": "", "raw": b"",
        "state": old["state"], "attempts": old["attempts"],
        "next_attempt_at": old["next_attempt_at"], "last_error": old["last_error"],
        "sent_at": old["sent_at"]}


def claim_owner(conn: Connection) -> None:
    """11: who claimed a row; rows claimed before it have none (the stale rule takes them)."""
    add_columns(conn, OutboxRow.__table__, (("claimed_by", "VARCHAR"),))  # type: ignore[attr-defined]
