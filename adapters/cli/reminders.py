"""``supportbot reminders list``: what the reminder loop recorded (sent, skipped, failed)."""

from __future__ import annotations

import json

import click

from adapters.bootstrap import App
from adapters.cli.options import json_option, pass_app
from adapters.storage.reminders import ReminderStore
from bot.errors import NotFound
from bot.model import id_of_reference


@click.group()
def reminders() -> None:
    """Deadline reminders recorded by the scheduler."""


@reminders.command("list")
@click.option("--ticket", "ref", help="only this ticket's reminders (T-1042)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_app
def reminders_list(app: App, ref: str | None, limit: int, as_json: bool) -> None:
    """Newest first: key, state, when it was due and whether it went out late."""
    ticket_id = None
    if ref is not None:
        try:
            ticket_id = id_of_reference(ref)
        except ValueError as e:
            raise NotFound(str(e)) from None
    rows = ReminderStore(app.db).list(ticket_id, limit)
    if as_json:
        click.echo(json.dumps([{
            "key": r["key"], "state": r["state"], "kind": r["kind"],
            "due_at": r["due_at"].isoformat(), "late": r["late"], "reason": r["reason"],
            "sinks": r["sinks_done"], "attempts": r["attempts"],
            "last_error": r["last_error"], "text": r["text"]} for r in rows], indent=2))
        return
    if not rows:
        click.echo("no reminders recorded")
    for r in rows:
        note = r["reason"] or r["last_error"]
        click.echo(f"{r['key']:<36} {r['state']:<8} {r['due_at']:%Y-%m-%d %H:%M:%S}"
                   f"{' late' if r['late'] else ''}{'  ' + note[:60] if note else ''}")
