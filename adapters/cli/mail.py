"""``supportbot ingest``, ``outbox`` and ``quarantine``: mail from an MTA pipe, mail going out,
mail that could not be taken."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from adapters.bootstrap import App
from adapters.cli.options import Ctx, actor_option, json_option, pass_app

EX_DATAERR = 65
EX_TEMPFAIL = 75


@click.command()
@click.argument("file", required=False, default="-", type=click.Path(allow_dash=True))
@click.pass_obj
def ingest(state: Ctx, file: str) -> None:
    """Take one message from an MTA (Postfix/Exim pipe): FILE or standard input.

    Exit 0 once the message is stored; 75 (EX_TEMPFAIL: the MTA retries) when it cannot be
    stored; 65 (EX_DATAERR) for input that can never be taken, which is kept in quarantine.
    """
    from adapters.mail.inbound import Accepted, InboundStore

    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as e:
        click.echo(f"supportbot: error: cannot read {file}: {e.strerror or e}", err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    try:
        app = state.app
        store = InboundStore(app.db, app.clock)
        inbound_id = store.accept_now(Accepted(raw=raw, channel="pipe", peer="pipe"))
    except Exception as e:  # whatever the reason, the MTA must keep the message and retry
        click.echo(f"supportbot: error: message not stored, try again later: {e}", err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    outcome = app.mail.process(inbound_id)
    click.echo(f"stored as inbound {inbound_id}: {outcome.state}, {outcome.action}"
               + (f" ({outcome.reference})" if outcome.reference else ""))
    if outcome.state == "quarantined":
        raise SystemExit(EX_DATAERR)


@click.group()
def outbox() -> None:
    """Mail waiting to go out, sent, or failed."""


@outbox.command("list")
@click.option("--state", type=click.Choice(["pending", "sending", "sent", "failed"]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_app
def outbox_list(app: App, state: str | None, limit: int, as_json: bool) -> None:
    rows = app.outbox.list(state, limit)
    if as_json:
        click.echo(json.dumps([{
            "id": r.id, "state": r.state, "purpose": r.purpose, "to": r.recipients,
            "subject": r.subject, "message_id": r.message_id, "attempts": r.attempts,
            "last_error": r.last_error} for r in rows], indent=2))
        return
    if not rows:
        click.echo("outbox empty")
    for r in rows:
        err = f"  ({r.last_error[:60]})" if r.last_error else ""
        click.echo(f"{r.id:>6} {r.state:<8} {r.purpose:<14} {','.join(r.recipients)[:30]:<30} "
                   f"{r.subject[:50]}{err}")


@outbox.command("show")
@click.argument("outbox_id", type=int)
@pass_app
def outbox_show(app: App, outbox_id: int) -> None:
    """Print one outgoing mail as it will be (or was) sent."""
    row = app.outbox.get(outbox_id)
    click.echo(f"state: {row.state}, attempts: {row.attempts}"
               + (f", last error: {row.last_error}" if row.last_error else ""))
    click.echo(row.raw.decode("utf-8", "replace"))


@click.group()
def quarantine() -> None:
    """Mail that could not be taken, kept raw with the reason."""


@quarantine.command("list")
@json_option
@pass_app
def quarantine_list(app: App, as_json: bool) -> None:
    items = app.quarantine.list()
    if as_json:
        click.echo(json.dumps([{"id": i.id, "received_at": i.received_at.isoformat(),
                                "channel": i.channel, "size": len(i.raw), "reason": i.reason}
                               for i in items], indent=2))
        return
    if not items:
        click.echo("quarantine empty")
    for i in items:
        click.echo(f"{i.id:>6} {i.received_at:%Y-%m-%d %H:%M} {i.channel:<5} "
                   f"{len(i.raw):>8}B  {i.reason[:80]}")


@quarantine.command("show")
@click.argument("inbound_id", type=int)
@pass_app
def quarantine_show(app: App, inbound_id: int) -> None:
    """The reason and the raw message."""
    row = app.quarantine.get(inbound_id)
    click.echo(f"reason: {row.reason}")
    click.echo(f"received: {row.received_at} via {row.channel}")
    click.echo()
    click.echo(row.raw.decode("utf-8", "replace"))


@quarantine.command("retry")
@click.argument("inbound_id", type=int)
@pass_app
def quarantine_retry(app: App, inbound_id: int) -> None:
    """Process a quarantined message again (after a fix, say)."""
    o = app.quarantine.retry(inbound_id)
    click.echo(f"{inbound_id}: {o.state}, {o.action}" + (f" ({o.reference})" if o.reference
                                                         else ""))


@quarantine.command("drop")
@click.argument("inbound_id", type=int)
@actor_option
@pass_app
def quarantine_drop(app: App, inbound_id: int, actor: str) -> None:
    """Give up on a message. Its raw bytes stay stored; it leaves the quarantine list."""
    app.quarantine.drop(inbound_id, actor)
    click.echo(f"{inbound_id}: dropped")
