"""``supportbot inbox list|show|retry|drop``: what every intake stored (mail, Slack events,
Twilio webhooks), how its processing went, and the quarantined ones mended."""

from __future__ import annotations

import json

import click

from adapters.bootstrap import App
from adapters.cli.options import actor_option, json_option, pass_app
from adapters.inbox import admin

STATES = ("pending", "done", "duplicate", "ignored", "quarantined", "dropped")


@click.group()
def inbox() -> None:
    """Inputs the intakes stored (mail, Slack events, Twilio webhooks), kept raw."""


@inbox.command("list")
@click.option("--state", type=click.Choice(STATES))
@click.option("--kind", help="only this kind: mail, slack, twilio")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_app
def inbox_list(app: App, state: str | None, kind: str | None, limit: int,
               as_json: bool) -> None:
    """Newest first."""
    items = admin.list_items(app.db, kind=kind, state=state, limit=limit)
    if as_json:
        click.echo(json.dumps([{
            "id": i.id, "kind": i.kind, "key": i.key, "channel": i.channel, "peer": i.peer,
            "received_at": i.received_at.isoformat(), "state": i.state, "reason": i.reason,
            "attempts": i.attempts, "ticket_id": i.ticket_id, "size": len(i.raw)}
            for i in items], indent=2))
        return
    if not items:
        click.echo("inbox empty")
    for i in items:
        click.echo(f"{i.id:>6} {i.received_at:%Y-%m-%d %H:%M} {i.kind:<6} {i.state:<11} "
                   f"{i.peer[:20]:<20} {i.reason[:60]}")


@inbox.command("show")
@click.argument("inbox_id", type=int)
@pass_app
def inbox_show(app: App, inbox_id: int) -> None:
    """Where it stands, and the raw input."""
    i = admin.show(app.db, inbox_id)
    click.echo(f"state: {i.state}, attempts: {i.attempts}"
               + (f", reason: {i.reason}" if i.reason else ""))
    click.echo(f"received: {i.received_at} via {i.channel}" + (f" ({i.peer})" if i.peer else ""))
    click.echo()
    click.echo(i.text)


@inbox.command("retry")
@click.argument("inbox_id", type=int)
@pass_app
def inbox_retry(app: App, inbox_id: int) -> None:
    """Process a quarantined input again (the running bot takes it on its next sweep)."""
    i = admin.retry(app.db, inbox_id)
    click.echo(f"{i.id}: {i.state}")


@inbox.command("drop")
@click.argument("inbox_id", type=int)
@actor_option
@pass_app
def inbox_drop(app: App, inbox_id: int, actor: str) -> None:
    """Give up on a quarantined input; its raw bytes stay stored."""
    i = admin.drop(app.db, inbox_id, actor)
    click.echo(f"{i.id}: {i.state}")
