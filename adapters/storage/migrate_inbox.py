"""Migration 10: one inbox. The mail intakes' table gains a kind, a dedupe key and a time
for the next attempt; Slack's stored events (pending ones included) move into it and their
table goes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table

from adapters.storage.migrate_steps import add_columns, move_rows
from adapters.storage.tables import InboundRow, SlackEventRow

_COLUMNS = (("kind", "VARCHAR NOT NULL DEFAULT 'mail'"), ("key", "VARCHAR"),
            ("next_attempt_at", "{instant}"))


def one_inbox(conn: Connection) -> None:
    """10: the inbox for every intake; Slack's events moved in."""
    inbound: Table = InboundRow.__table__  # type: ignore[attr-defined]
    add_columns(conn, inbound, _COLUMNS)
    move_rows(conn, SlackEventRow.__table__, inbound, slack_row)  # type: ignore[attr-defined]


def slack_row(old: dict[str, Any]) -> dict[str, Any]:
    """A ``slack_event`` row as an ``inbound`` row of kind ``slack`` (its final failure state
    is the inbox's quarantine)."""
    raw = str(old["body"]).encode("utf-8")
    return {
        "kind": "slack", "key": old["event_id"], "received_at": old["received_at"],
        "channel": "slack", "peer": old["kind"], "mail_from": "", "rcpt_to": [], "raw": raw,
        "size": len(raw), "state": "quarantined" if old["state"] == "failed" else old["state"],
        "reason": old["reason"], "ticket_id": old["ticket_id"], "attempts": old["attempts"],
        "next_attempt_at": None, "processed_at": old["processed_at"]}
