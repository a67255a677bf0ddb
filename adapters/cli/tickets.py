"""``supportbot tickets`` (or ``ticket``): list, show, register and act on tickets."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

from adapters.cli.options import (
    Ctx,
    F,
    actor_option,
    emit,
    json_option,
    pass_app,
    priority_value,
    ticket_action,
)
from bot.change_requests import KINDS
from bot.errors import ConfigError
from bot.model import Channel, TicketStatus
from bot.views import ACTIVE, TicketView

if TYPE_CHECKING:  # ``tickets list`` reads directly and needs none of them
    from adapters.bootstrap import App
    from bot.priority import Priority


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
@click.pass_obj
def tickets_list(state: Ctx, client: str | None, statuses: tuple[str, ...], only_open: bool,
                 at_risk: bool, assignee: str | None, limit: int, as_json: bool) -> None:
    """Tickets, newest first."""
    from adapters.render import ticket_json, ticket_table

    wanted = [TicketStatus(s) for s in statuses] or (list(ACTIVE) if only_open or at_risk else [])
    views = _list_directly(state, client, wanted, at_risk, assignee, limit)
    if views is None:
        views = state.app.helpdesk.list(client=client, statuses=wanted, at_risk=at_risk,
                                        assignee=assignee, limit=limit)
    if as_json:
        click.echo(json.dumps([ticket_json(v) for v in views], indent=2))
        return
    for line in ticket_table(views, at_risk=at_risk):
        click.echo(line)


def _list_directly(state: Ctx, client: str | None, statuses: Sequence[TicketStatus],
                   at_risk: bool, assignee: str | None, limit: int) -> list[TicketView] | None:
    """The listing read with the DB-API driver (``adapters/dbapi_read.py``), without building
    the app: the same views as ``Helpdesk.list``, or None to take that full path (a client the
    database does not know yet is added by the app's start, so it goes there too)."""
    from adapters.dbapi import target_of
    from adapters.dbapi_read import open_reader
    from adapters.system_clock import SystemClock
    from bot.change_requests import ticket_clocks
    from bot.policies import PolicyBook
    from bot.views import list_limit, select

    settings = state.settings
    target = target_of(settings.storage.url, settings.storage.schema_)
    reader = open_reader(target) if target is not None else None
    if reader is None:
        return None
    try:
        if client is not None and not reader.has_client(client):
            return None
        found = reader.tickets(client=client, statuses=statuses,
                               limit=list_limit(limit, at_risk=at_risk, assignee=assignee))
    finally:
        reader.close()
    policies = PolicyBook(settings.policies.default, settings.policies.paths)
    now = SystemClock().now()
    views = [TicketView(t, p, ticket_clocks(p, t, now), now)
             for t in found for p in (policies.get(t.policy),)]
    return select(views, at_risk=at_risk, assignee=assignee, limit=limit, now=now)


@tickets.command("show")
@click.argument("ref")
@json_option
@pass_app
def tickets_show(app: App, ref: str, as_json: bool) -> None:
    """One ticket with its clocks, classification reasons and events."""
    from adapters.render import ticket_json
    from adapters.trackers.show import tracker_of

    view = app.helpdesk.show(ref)
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


@tickets.command("link")
@click.argument("ref")
@pass_app
def tickets_link(app: App, ref: str) -> None:
    """Print the ticket's client status page link (to give a client by phone or chat); it
    expires after client_links.status_days."""
    if app.links is None:
        raise ConfigError(app.settings.source, "client_links.secret", (
            "no client links: set client_links.secret, web.enabled and web.public_url"))
    t = app.helpdesk.show(ref).ticket
    assert t.id is not None
    click.echo(app.links.status_url(t.id, app.clock.now()))


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
        click.option("--message", required=True, help="the text of the reply"),
        click.option("--question", "as_question", is_flag=True,
                     help="a question: the ticket then waits for the client's answer"))
_action("wait", "Wait for the client's answer: the clocks the policy's [waiting] names pause "
        "until the client writes or calls (or `tickets resume`).",
        lambda app, ref, **kw: app.helpdesk.wait_for_client(ref, **kw),
        click.option("--reason", default="", help="what the client is asked for"))
_action("confirm-cause", "Record that both sides agree the cause is the software.",
        lambda app, ref, **kw: app.helpdesk.confirm_cause(ref, **kw),
        click.option("--note", default=""))
_action("pause", "Pause (clocks the policy lets pause stop counting).",
        lambda app, ref, **kw: app.helpdesk.pause(ref, **kw),
        click.option("--reason", required=True))
_action("resume", "Resume a paused ticket (or stop waiting for the client).",
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
