"""``supportbot outbox list|show|retry|drop``: everything the bot sends (mail, Slack posts),
waiting, sent, failed or dropped."""

from __future__ import annotations

import json

import click

from adapters.bootstrap import App
from adapters.cli.options import actor_option, json_option, pass_app
from adapters.outbox import admin
from adapters.storage.outbox import STATES, OutboxItem


@click.group()
def outbox() -> None:
    """What the bot sends (mail, Slack posts): waiting to go out, sent, failed or dropped."""


def _what(i: OutboxItem) -> str:
    """Mail by its purpose (ack, reply, ...); other kinds as kind:purpose."""
    return i.purpose if i.kind == "mail" else f"{i.kind}:{i.purpose}"


def _to(i: OutboxItem) -> str:
    return ",".join(i.recipients) if i.kind == "mail" else i.channel


def _summary(i: OutboxItem) -> str:
    return i.subject if i.kind == "mail" else str(i.payload.get("text", ""))


@outbox.command("list")
@click.option("--state", type=click.Choice(STATES))
@click.option("--kind", help="only this kind: mail, slack")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_app
def outbox_list(app: App, state: str | None, kind: str | None, limit: int,
                as_json: bool) -> None:
    """Newest first."""
    items = admin.list_items(app.db, kind=kind, state=state, limit=limit)
    if as_json:
        click.echo(json.dumps([{
            "id": i.id, "kind": i.kind, "state": i.state, "purpose": i.purpose,
            "to": list(i.recipients) if i.kind == "mail" else [i.channel], "key": i.key,
            "subject": _summary(i), "message_id": i.message_id if i.kind == "mail" else "",
            "ticket_id": i.ticket_id, "attempts": i.attempts, "last_error": i.last_error}
            for i in items], indent=2))
        return
    if not items:
        click.echo("outbox empty")
    for i in items:
        err = f"  ({i.last_error[:60]})" if i.last_error else ""
        click.echo(f"{i.id:>6} {i.state:<8} {_what(i):<14} {_to(i)[:30]:<30} "
                   f"{_summary(i)[:50]}{err}")


@outbox.command("show")
@click.argument("outbox_id", type=int)
@pass_app
def outbox_show(app: App, outbox_id: int) -> None:
    """Print one item as it will be (or was) sent: a mail's raw message, else its payload."""
    i = admin.show(app.db, outbox_id)
    click.echo(f"state: {i.state}, attempts: {i.attempts}"
               + (f", last error: {i.last_error}" if i.last_error else ""))
    if i.kind == "mail":
        click.echo(i.raw.decode("utf-8", "replace"))
        return
    click.echo(f"kind: {i.kind}, purpose: {i.purpose}, key: {i.key}")
    click.echo(f"channel: {i.channel}" + (f", ticket: {i.ticket_id}" if i.ticket_id else ""))
    click.echo(json.dumps(i.payload, indent=2, sort_keys=True))


@outbox.command("retry")
@click.argument("outbox_id", type=int)
@actor_option
@pass_app
def outbox_retry(app: App, outbox_id: int, actor: str) -> None:
    """Deliver a failed (or dropped) item again: due now, attempts counted afresh."""
    i = admin.retry(app.db, app.clock, outbox_id, actor)
    click.echo(f"{i.id}: {i.state}")


@outbox.command("drop")
@click.argument("outbox_id", type=int)
@actor_option
@pass_app
def outbox_drop(app: App, outbox_id: int, actor: str) -> None:
    """Never deliver a pending or failed item; it stays on record."""
    i = admin.drop(app.db, outbox_id, actor)
    click.echo(f"{i.id}: {i.state}")
