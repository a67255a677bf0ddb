"""``supportbot tickets`` (or ``ticket``): list, show, register and act on tickets."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click

from adapters.bootstrap import App
from adapters.cli.options import (
    F,
    actor_option,
    emit,
    json_option,
    pass_app,
    priority_value,
    ticket_action,
)
from adapters.render import ticket_json, ticket_table
from bot.change_requests import KINDS
from bot.model import Channel, TicketStatus
from bot.priority import Priority
from bot.services import ACTIVE, TicketView


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
    for line in ticket_table(views, at_risk=at_risk):
        click.echo(line)


@tickets.command("show")
@click.argument("ref")
@json_option
@pass_app
def tickets_show(app: App, ref: str, as_json: bool) -> None:
    """One ticket with its clocks, classification reasons and events."""
    view = app.helpdesk.show(ref)
    from adapters.trackers.show import tracker_of

    tracker = tracker_of(app.uow, view.ticket.id)
    if tracker is None:
        emit(view, as_json)
    elif as_json:
        click.echo(json.dumps({**ticket_json(view), "tracker": tracker}, indent=2))
    else:
        from adapters.render import ticket_text

        click.echo(ticket_text(view))
        click.echo(f"tracker: {tracker['kind']} {tracker['key'] or '(not created yet)'} "
                   f"{tracker['url']}".rstrip() + (f" - refused: {tracker['error']}"
                                                   if tracker["error"] else ""))


@tickets.command("new")
@click.option("--subject", required=True)
@click.option("--body", default="", help="the report's text ('-' reads standard input)")
@click.option("--client", help="client name (none: the unassigned queue)")
@click.option("--priority", callback=priority_value, help="set by staff instead of classifying")
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
    emit(view, as_json)


def _action(name: str, help_text: str, call: Callable[..., TicketView],
            *params: Callable[[F], F]) -> None:
    ticket_action(tickets, name, help_text, call, *params)


_action("set-priority", "Change the priority, with a reason for the audit trail.",
        lambda app, ref, priority, **kw: app.helpdesk.set_priority(ref, priority, **kw),
        click.argument("priority", callback=priority_value),
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
