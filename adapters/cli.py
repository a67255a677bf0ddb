"""The ``supportbot`` command line. User mistakes end in one clear line and a non-zero exit.

Exit codes: 0 done; 1 the action was refused or failed (unknown ticket, invalid action, storage);
2 a usage or configuration mistake.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from adapters.bootstrap import App, bootstrap, open_database
from adapters.render import ticket_json, ticket_row, ticket_text
from adapters.storage import SCHEMA_VERSION, Database
from bot.change_requests import KINDS
from bot.errors import ConfigError, InvalidAction, NotFound, SupportbotError
from bot.model import Channel, InboundItem, TicketStatus
from bot.priority import Priority
from bot.services import ACTIVE, TicketView
from bot.sla import builtin_policies, load_policy
from bot.sla.durations import format_duration
from config.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    """What the commands share: settings are read once, the app is built on first use."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._app: App | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = bootstrap(self.settings)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def _default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return os.environ.get("SUPPORTBOT_ACTOR") or f"cli:{user}"


def _priority(_c: click.Context, _p: click.Parameter, value: str | None) -> Priority | None:
    if value is None:
        return None
    try:
        return Priority.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


actor_option = click.option("--actor", default=_default_actor, show_default="cli:$USER",
                            help="who does this, for the audit trail ($SUPPORTBOT_ACTOR)")
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON")


def _emit(view: TicketView, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(ticket_json(view), indent=2))
    else:
        click.echo(ticket_text(view))


class _Root(click.Group):
    """Takes ``ticket`` as another name for ``tickets`` without listing it twice."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, "tickets" if cmd_name == "ticket" else cmd_name)


@click.group(cls=_Root,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", type=click.Path(path_type=Path), default=None,
              help="settings file (default: $SUPPORTBOT_CONFIG, else ./supportbot.toml if present)")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """supportbot: SLA-aware support intake."""
    state = Ctx(config)
    ctx.obj = state
    ctx.call_on_close(state.close)


def pass_app(f: F) -> F:
    @wraps(f)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return f(click.get_current_context().obj.app, *args, **kwargs)
    return inner  # type: ignore[return-value]


# -- run ------------------------------------------------------------------------------------


@cli.command()
@click.pass_obj
def run(state: Ctx) -> None:
    """Run the bot: storage, scheduler and every configured intake, until stopped."""
    from adapters.runner import run_forever

    run_forever(state.settings)


# -- tickets --------------------------------------------------------------------------------


@click.group()
def tickets() -> None:
    """List, show and act on tickets."""


@tickets.command("list")
@click.option("--client", help="only this client's tickets")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in TicketStatus]), help="repeatable")
@click.option("--open", "only_open", is_flag=True, help="new, open or paused tickets")
@click.option("--at-risk", is_flag=True, help="running clocks breached or nearly out")
@click.option("--assignee", help="only tickets assigned to this person")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_app
def tickets_list(app: App, client: str | None, statuses: tuple[str, ...], only_open: bool,
                 at_risk: bool, assignee: str | None, limit: int, as_json: bool) -> None:
    """Tickets, newest first."""
    wanted = [TicketStatus(s) for s in statuses] or (list(ACTIVE) if only_open or at_risk else [])
    views = app.helpdesk.list(client=client, statuses=wanted, at_risk=at_risk,
                              assignee=assignee, limit=limit)
    if as_json:
        click.echo(json.dumps([ticket_json(v) for v in views], indent=2))
        return
    if not views:
        click.echo("no tickets")
    for v in views:
        click.echo(ticket_row(v))


@tickets.command("show")
@click.argument("ref")
@json_option
@pass_app
def tickets_show(app: App, ref: str, as_json: bool) -> None:
    """One ticket with its clocks, classification reasons and events."""
    _emit(app.helpdesk.show(ref), as_json)


@tickets.command("new")
@click.option("--subject", required=True)
@click.option("--body", default="", help="the report's text ('-' reads standard input)")
@click.option("--client", help="client name (none: the unassigned queue)")
@click.option("--priority", callback=_priority, help="set by staff instead of classifying")
@click.option("--reason", default="", help="why, when --priority is given")
@click.option("--requester", help="who reported it (mail address or name)")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default="cli",
              show_default=True, help="where it was reported (phone for a call taken by staff)")
@click.option("--kind", type=click.Choice(KINDS), default="incident", show_default=True,
              help="change_request: answered within the policy's working days, not P1-P4 times")
@actor_option
@json_option
@pass_app
def tickets_new(app: App, subject: str, body: str, client: str | None,
                priority: Priority | None, reason: str, requester: str | None, channel: str,
                kind: str, actor: str, as_json: bool) -> None:
    """Register a ticket by hand (a report taken by phone, say)."""
    if body == "-":
        body = sys.stdin.read()
    view = app.helpdesk.register(subject=subject, body=body, client=client,
                                 channel=Channel(channel), requester=requester,
                                 priority=priority, actor=actor, reason=reason, kind=kind)
    _emit(view, as_json)


def _action(name: str, help_text: str, call: Callable[..., TicketView],
            *params: Callable[[F], F]) -> None:
    @tickets.command(name, help=help_text)
    @click.argument("ref")
    @actor_option
    @json_option
    @pass_app
    def command(app: App, ref: str, actor: str, as_json: bool, **kwargs: Any) -> None:
        _emit(call(app, ref, actor=actor, **kwargs), as_json)

    for p in reversed(params):
        p(command)


_action("set-priority", "Change the priority, with a reason for the audit trail.",
        lambda app, ref, priority, **kw: app.helpdesk.set_priority(ref, priority, **kw),
        click.argument("priority", callback=_priority),
        click.option("--reason", required=True))
_action("respond", "Record a response to the client (stops the response clock).",
        lambda app, ref, **kw: app.helpdesk.respond(ref, **kw),
        click.option("--message", default="", help="what was said"))
_action("reply", "Reply to the client in the ticket's mail thread (stops the response clock).",
        lambda app, ref, **kw: app.helpdesk.respond(ref, **kw),
        click.option("--message", required=True, help="the text of the reply"))
_action("confirm-cause", "Record that both sides agree the cause is the software.",
        lambda app, ref, **kw: app.helpdesk.confirm_cause(ref, **kw),
        click.option("--note", default=""))
_action("pause", "Pause (clocks the policy lets pause stop counting).",
        lambda app, ref, **kw: app.helpdesk.pause(ref, **kw),
        click.option("--reason", required=True))
_action("resume", "Resume a paused ticket.",
        lambda app, ref, **kw: app.helpdesk.resume(ref, **kw), click.option("--note", default=""))
_action("resolve", "Mark resolved (stops the resolution clock).",
        lambda app, ref, **kw: app.helpdesk.resolve(ref, **kw), click.option("--note", default=""))
_action("reopen", "Reopen a resolved ticket.",
        lambda app, ref, **kw: app.helpdesk.reopen(ref, **kw),
        click.option("--reason", required=True))
_action("close", "Close for good.",
        lambda app, ref, **kw: app.helpdesk.close(ref, **kw), click.option("--note", default=""))
_action("log-time", "Log hours spent (for the reports).",
        lambda app, ref, hours, **kw: app.helpdesk.log_time(ref, hours, **kw),
        click.argument("hours", type=float), click.option("--note", default=""))
_action("note", "Add an internal note.",
        lambda app, ref, text, **kw: app.helpdesk.note(ref, text, **kw),
        click.argument("text"))
_action("assign", "Assign to a staff member.",
        lambda app, ref, assignee, **kw: app.helpdesk.assign(ref, assignee, **kw),
        click.argument("assignee"))
_action("confirm-phone", "Record the P1 phone follow-up as done.",
        lambda app, ref, **kw: app.helpdesk.confirm_phone_followup(ref, **kw),
        click.option("--note", default=""))

cli.add_command(tickets)


# -- mail -------------------------------------------------------------------------------------

EX_DATAERR = 65
EX_TEMPFAIL = 75


@cli.command()
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


@cli.group()
def quarantine() -> None:
    """Mail that could not be taken, kept raw with the reason."""


def _quarantined(app: App, inbound_id: int) -> InboundItem:
    from adapters.storage import SqlUnitOfWork
    from adapters.storage.inbox import MAIL_CHANNELS as MAIL

    with SqlUnitOfWork(app.db, write=False) as uow:
        item = uow.inbound.get(inbound_id)
    if item is None or item.state not in ("quarantined", "dropped") or item.channel not in MAIL:
        raise NotFound(f"no quarantined message {inbound_id}")
    return item


@quarantine.command("list")
@json_option
@pass_app
def quarantine_list(app: App, as_json: bool) -> None:
    from adapters.storage import SqlUnitOfWork

    with SqlUnitOfWork(app.db, write=False) as uow:
        items = uow.inbound.list("quarantined", limit=1000)
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
    row = _quarantined(app, inbound_id)
    click.echo(f"reason: {row.reason}")
    click.echo(f"received: {row.received_at} via {row.channel}")
    click.echo()
    click.echo(row.raw.decode("utf-8", "replace"))


@quarantine.command("retry")
@click.argument("inbound_id", type=int)
@pass_app
def quarantine_retry(app: App, inbound_id: int) -> None:
    """Process a quarantined message again (after a fix, say)."""
    from adapters.storage import SqlUnitOfWork

    _quarantined(app, inbound_id)
    with SqlUnitOfWork(app.db) as uow:
        if not uow.inbound.requeue(inbound_id):
            raise InvalidAction(f"message {inbound_id} is not quarantined")
        uow.commit()
    o = app.mail.process(inbound_id)
    click.echo(f"{inbound_id}: {o.state}, {o.action}" + (f" ({o.reference})" if o.reference
                                                         else ""))


@quarantine.command("drop")
@click.argument("inbound_id", type=int)
@actor_option
@pass_app
def quarantine_drop(app: App, inbound_id: int, actor: str) -> None:
    """Give up on a message. Its raw bytes stay stored; it leaves the quarantine list."""
    from adapters.storage import SqlUnitOfWork

    _quarantined(app, inbound_id)
    with SqlUnitOfWork(app.db) as uow:
        uow.inbound.finish(inbound_id, "dropped", at=app.clock.now(),
                           reason=f"dropped by {actor}")
        uow.commit()
    click.echo(f"{inbound_id}: dropped")


# -- sla --------------------------------------------------------------------------------------


@cli.group()
def sla() -> None:
    """Deadlines and the arithmetic behind them."""


def _sla_options(f: F) -> F:
    f = click.option("--policy", default=None,
                     help="built-in name or policy file (default: the configured default)")(f)
    f = click.option("--priority", required=True, callback=_priority)(f)
    f = click.option("--clock", default="response", show_default=True)(f)
    f = click.option("--start", required=True,
                     help="ISO 8601 instant; without an offset it is the policy's local time")(f)
    return f


def _deadline_inputs(state: Ctx, policy: str | None, clock: str,
                     start: str) -> tuple[Any, datetime]:
    name = policy or state.settings.policies.default
    p = load_policy(name, state.settings.policies.paths)
    try:
        when = datetime.fromisoformat(start)
    except ValueError:
        raise click.BadParameter(f"{start!r} is not an ISO 8601 instant "
                                 "(e.g. 2026-12-24T17:00+01:00)", param_hint="--start") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=p.calendar.tz)
    if clock not in p.clocks:
        raise click.BadParameter(f"policy {p.name} has no clock {clock!r} "
                                 f"(it has: {', '.join(p.clocks)})", param_hint="--clock")
    if p.is_placeholder(f"clocks.{clock}.targets"):
        click.echo(f"warning: policy {p.name}: the {clock} targets are placeholders; fill them in "
                   f"from the contract ({p.source})", err=True)
    return p, when


@sla.command("deadline")
@_sla_options
@json_option
@click.pass_obj
def sla_deadline(state: Ctx, policy: str | None, priority: Priority, clock: str, start: str,
                 as_json: bool) -> None:
    """Print when a clock started at START is due."""
    p, when = _deadline_inputs(state, policy, clock, start)
    due = p.deadline(priority, clock, when)
    if as_json:
        click.echo(json.dumps({"policy": p.name, "policy_version": p.version,
                               "priority": priority.value, "clock": clock,
                               "start": when.isoformat(), "target": format_duration(
                                   p.target(priority, clock)),
                               "due": due.isoformat(),
                               "due_utc": due.astimezone(UTC).isoformat()}))
    else:
        click.echo(due.isoformat())


@sla.command("explain")
@_sla_options
@click.pass_obj
def sla_explain(state: Ctx, policy: str | None, priority: Priority, clock: str,
                start: str) -> None:
    """Show how the due instant was counted."""
    p, when = _deadline_inputs(state, policy, clock, start)
    target = p.target(priority, clock)
    ex = p.calendar.explain(when, target)
    tz = p.calendar.tz
    click.echo(f"policy {p.name} ({p.version}): {priority} {clock} target "
               f"{format_duration(target)} of working time")
    click.echo(f"start {when.astimezone(tz):%a %d %b %Y %H:%M %Z}")
    click.echo(str(ex))
    click.echo(f"due   {ex.due.astimezone(tz):%a %d %b %Y %H:%M %Z}  ({ex.due.isoformat()})")


@sla.command("policies")
@click.pass_obj
def sla_policies(state: Ctx) -> None:
    """List the built-in policies."""
    for name in builtin_policies():
        p = load_policy(name)
        note = "  (placeholder targets)" if p.placeholders else ""
        click.echo(f"{name:<10} {p.version}  {p.title}{note}")


@sla.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def sla_check(file: Path) -> None:
    """Validate a policy file."""
    p = load_policy(file)
    click.echo(f"{file}: ok: {p.name} ({p.version}), clocks {', '.join(p.clocks)}")
    for key in p.placeholders:
        click.echo(f"  placeholder: {key}")


# -- db / config ------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema."""


@contextmanager
def _database(state: Ctx) -> Iterator[Database]:
    database = open_database(state.settings)
    try:
        yield database
    finally:
        database.dispose()


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: Ctx) -> None:
    """Create or upgrade the schema to what this version needs."""
    with _database(state) as database:
        before, after = database.upgrade()
    click.echo(f"schema at version {after}" + (f" (was {before})" if before != after else
                                                " (already up to date)"))


@db.command("status")
@click.pass_obj
def db_status(state: Ctx) -> None:
    """Show the schema version."""
    with _database(state) as database:
        v = database.current_version()
    click.echo(f"{database!r}: schema version {v}, this supportbot needs {SCHEMA_VERSION}")


@cli.group("config")
def config_group() -> None:
    """Settings."""


@config_group.command("check")
@click.pass_obj
def config_check(state: Ctx) -> None:
    """Validate the settings and print them as loaded."""
    s = state.settings
    click.echo(f"settings from {s.source}: ok", err=True)
    click.echo(json.dumps(s.model_dump(mode="json", by_alias=True), indent=2))


from adapters.cli_reports import report, reports  # noqa: E402  (it uses this module's helpers)

cli.add_command(report)
cli.add_command(reports)

from adapters.cli_maintenance import maintenance_group, policy_group  # noqa: E402

cli.add_command(maintenance_group)
cli.add_command(policy_group)

from adapters.cli_reminders import reminders  # noqa: E402 (it uses this module's helpers)

cli.add_command(reminders)
from adapters.cli_outbox import outbox  # noqa: E402 (it uses this module's helpers)

cli.add_command(outbox)
from adapters.cli_inbox import inbox  # noqa: E402 (it uses this module's helpers)

cli.add_command(inbox)


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code; user errors print one line, never a traceback."""
    try:
        cli.main(args=argv, prog_name="supportbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e), err=True)
        return 2
    except click.UsageError as e:
        cmd = e.ctx.command_path if e.ctx else "supportbot"
        click.echo(f"supportbot: error: {e.format_message()} (see '{cmd} --help')", err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"supportbot: error: {e.format_message()}", err=True)
        return 2
    except ConfigError as e:
        click.echo(f"supportbot: configuration error: {e}", err=True)
        return 2
    except SupportbotError as e:
        click.echo(f"supportbot: error: {e}", err=True)
        return 1
    except KeyError as e:  # unknown clock or deadline names from the policy API
        click.echo(f"supportbot: error: {e.args[0] if e.args else e}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
