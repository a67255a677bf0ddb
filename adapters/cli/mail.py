"""``supportbot ingest`` and ``quarantine``: mail from an MTA pipe, mail that could not be taken."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from adapters.cli.options import Ctx, actor_option, json_option, pass_app

if TYPE_CHECKING:
    from adapters.bootstrap import App

EX_USAGE = 64
EX_DATAERR = 65
EX_TEMPFAIL = 75
_NOT_THERE = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _fail(code: int, message: str) -> NoReturn:
    """One line on stderr (an MTA puts it in its bounce or its log) and a sysexits code."""
    click.echo(f"supportbot: error: {' '.join(message.split())}", err=True)
    raise SystemExit(code)


@click.command()
@click.argument("file", required=False, default="-", type=click.Path(allow_dash=True))
@click.pass_obj
def ingest(state: Ctx, file: str) -> None:
    """Take one message from an MTA (Postfix/Exim pipe): FILE or standard input. An mbox
    (messages behind ``From `` postmark lines) is taken message by message.

    Exit 0 once every message is stored; 75 (EX_TEMPFAIL: the MTA retries) when they cannot be
    stored (then none is); 65 (EX_DATAERR) when one can never be taken: it is kept in
    quarantine; 64 (EX_USAGE) when FILE is not there. Every non-zero exit says why on stderr.

    When a bot runs (``supportbot run`` on the same database) the messages are only stored and
    the bot makes the tickets; a message it cannot take then waits in quarantine (exit 0).
    Otherwise this command processes them itself.
    """
    from bot.mail.mbox import split_mbox

    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except _NOT_THERE as e:  # retrying cannot help: the MTA should bounce, not queue for ever
        _fail(EX_USAGE, f"cannot read {file}: {e.strerror or e}")
    except OSError as e:
        _fail(EX_TEMPFAIL, f"cannot read {file}, try again later: {e.strerror or e}")
    messages = split_mbox(raw)
    if len(messages) > 1:
        click.echo(f"{len(messages)} messages (an mbox): each is taken on its own")
    stored = _store_for_running_bot(state, messages)
    if stored is not None:
        for inbound_id in stored:
            click.echo(f"stored as inbound {inbound_id}: pending, the running bot processes it")
        return
    from adapters.mail.inbound import Accepted, InboundStore

    try:
        app = state.app
        store = InboundStore(app.db, app.clock)
        ids = store.accept_all_now([Accepted(raw=m, channel="pipe", peer="pipe")
                                    for m in messages])
    except Exception as e:  # whatever the reason, the MTA must keep the message and retry
        _fail(EX_TEMPFAIL, f"message not stored, try again later: {e}")
    refused = []
    for n, inbound_id in enumerate(ids, 1):
        outcome = app.mail.process(inbound_id)
        click.echo(f"stored as inbound {inbound_id}: {outcome.state}, {outcome.action}"
                   + (f" ({outcome.reference})" if outcome.reference else ""))
        if outcome.state == "quarantined":
            which = f"message {n} of {len(ids)}" if len(ids) > 1 else "message"
            refused.append(f"{which} not taken: {outcome.action}; kept in quarantine "
                           f"(supportbot quarantine show {inbound_id})")
    for line in refused[:-1]:
        click.echo(f"supportbot: error: {' '.join(line.split())}", err=True)
    if refused:
        _fail(EX_DATAERR, refused[-1])


def _store_for_running_bot(state: Ctx, messages: list[bytes]) -> list[int] | None:
    """The fast path (``adapters/mail/pipe.py``): the inbound ids when a running bot will process
    the messages; None to take the full path (no bot runs, or anything the fast path does not
    know for sure, its own failure included: the full path then stores or says why)."""
    from adapters.mail.pipe import store_if_bot_runs, target_from_settings

    target = target_from_settings(state.config)
    if target is None:
        return None
    try:
        return store_if_bot_runs(target, messages)
    except Exception:  # nothing was committed: the full path tries again and says why
        return None


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
