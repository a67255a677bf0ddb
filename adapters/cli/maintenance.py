"""``supportbot maintenance``: announce maintenance windows to clients, and list them."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

import click

from adapters.cli.options import actor_option, json_option, pass_app, ticket_action
from adapters.cli.tickets import tickets
from bot import readable
from bot.sla import load_policy

if TYPE_CHECKING:  # not for ``tickets list``, which loads this module for its group
    from adapters.bootstrap import App
    from bot.maintenance import MaintenanceWindow, Told


def _instant(app: App, value: str, param: str) -> datetime:
    """ISO 8601; without an offset, local time of the default policy's calendar."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 instant "
                                 "(e.g. 2026-12-24T17:00+01:00)", param_hint=param) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_zone(app))
    return when


def _zone(app: App) -> tzinfo:
    """The default policy's time zone: the one instants are read and written in here."""
    s = app.settings.policies
    return load_policy(s.default, s.paths).calendar.tz


def _span(w: MaintenanceWindow, tz: tzinfo) -> str:
    return f"{readable.when(w.start, tz)} - {readable.when(w.end, tz)}"


def _told(t: Told) -> str:
    parts = [f"{', '.join(t.mailed) or 'nobody'} by mail"]
    if t.posted:
        parts.append(f"{', '.join(t.posted)} on Slack")
    line = "; ".join(parts)
    if t.unreachable:
        line += f"; no contact address or channel: {', '.join(t.unreachable)}"
    return line


@click.group("maintenance")
def maintenance_group() -> None:
    """Maintenance windows: announce them to clients (with the policy's notice), list them.
    `supportbot run` tells the clients again when a window starts and when it ends."""


@maintenance_group.command("announce")
@click.option("--start", required=True, help="ISO 8601 (no offset: the default policy's zone)")
@click.option("--end", required=True, help="ISO 8601 (no offset: the default policy's zone)")
@click.option("--summary", required=True, help="what is done, one line")
@click.option("--client", "clients", multiple=True,
              help="a client to tell (repeatable; default: every client)")
@click.option("--hotfix", is_flag=True,
              help="an urgent fix: allowed with less notice than the policy asks, and says so")
@click.option("--release-notes", default="", help="URL sent with the notice that it ended")
@actor_option
@pass_app
def announce(app: App, start: str, end: str, summary: str, clients: tuple[str, ...],
             hotfix: bool, release_notes: str, actor: str) -> None:
    """Mail (and post to Slack) a maintenance notice to every affected client. Refused when
    it gives a client less notice than the client's policy asks, unless --hotfix."""
    told = app.maintenance.announce(
        start=_instant(app, start, "--start"), end=_instant(app, end, "--end"),
        summary=summary, clients=clients, hotfix=hotfix, release_notes=release_notes,
        actor=actor)
    w = told.window
    if not told.created:
        click.echo(f"maintenance {w.key} was announced already "
                   f"({readable.when(w.announced_at, _zone(app))}): nothing queued again")
        return
    click.echo(f"maintenance {w.key} {_span(w, _zone(app))}"
               f"{' (hotfix)' if w.hotfix else ''}: told {_told(told)}")


def _json(w: MaintenanceWindow, state: str) -> dict[str, object]:
    return {"key": w.key, "start": w.start.isoformat(), "end": w.end.isoformat(),
            "state": state, "summary": w.summary, "clients": list(w.clients),
            "hotfix": w.hotfix, "release_notes": w.release_notes or None,
            "announced_at": w.announced_at.isoformat(), "announced_by": w.announced_by,
            "start_told_at": w.started_told_at.isoformat() if w.started_told_at else None,
            "end_told_at": w.ended_told_at.isoformat() if w.ended_told_at else None}


@maintenance_group.command("list")
@click.option("--all", "include_ended", is_flag=True, help="ended windows too")
@json_option
@pass_app
def list_windows(app: App, include_ended: bool, as_json: bool) -> None:
    """Scheduled and running windows, by start (in the default policy's zone)."""
    svc = app.maintenance
    now = app.clock.now()
    rows = [(w, w.state_at(now)) for w in svc.windows(include_ended=include_ended)]
    if as_json:
        click.echo(json.dumps([_json(w, s) for w, s in rows], indent=2))
        return
    if not rows:
        click.echo("no maintenance scheduled")
    tz = _zone(app)
    for w, s in rows:
        click.echo(f"{w.key}  {_span(w, tz)}  {s:<11} "
                   f"{'hotfix ' if w.hotfix else ''}{', '.join(w.clients)}: {w.summary}")


def _maybe(app: App, value: str | None, param: str) -> datetime | None:
    return None if value is None else _instant(app, value, param)


ticket_action(
    tickets, "outage", "Correct the outage interval the availability counts for a ticket "
    "(by default a P1's registration to resolution), or --none: it was no outage.",
    lambda app, ref, start, end, **kw: app.helpdesk.correct_outage(
        ref, start=_maybe(app, start, "--start"), end=_maybe(app, end, "--end"), **kw),
    click.option("--start", help="when the service went down (ISO 8601)"),
    click.option("--end", help="when it was back (ISO 8601)"),
    click.option("--none", is_flag=True, help="the ticket was no outage"),
    click.option("--reason", required=True, help="why, for the audit trail"))


@click.group("policy")
def policy_group() -> None:
    """Changes of clients' policy files: what changed, and the clients' approval."""


@policy_group.command("diff")
@click.argument("client")
@pass_app
def policy_diff(app: App, client: str) -> None:
    """What changed in CLIENT's policy (calendar, holidays, targets) since the version the
    client last acknowledged."""
    policy, base, lines = app.policy_changes.diff(client)
    if base is None:
        click.echo(f"{client}: policy {policy.name} version {policy.version}; no version "
                   "recorded yet (`supportbot policy check` records it as the baseline)")
        return
    if not lines:
        click.echo(f"{client}: policy {policy.name} version {policy.version}: no change since "
                   f"version {base.version} ({base.state})")
        return
    click.echo(f"{client}: policy {policy.name} version {base.version} ({base.state}) -> "
               f"{policy.version}:")
    for line in lines:
        click.echo(f"  {line}")


@policy_group.command("check")
@pass_app
def policy_check(app: App) -> None:
    """Record changed policy versions now and tell the clients (`supportbot run` does this
    periodically)."""
    changes = app.policy_changes.check()
    if not changes:
        click.echo("no policy changes")
    for c in changes:
        if c.since is None:
            click.echo(f"{c.client}: version {c.version.version} recorded as the baseline")
        else:
            click.echo(f"{c.client}: {c.since.version} -> {c.version.version} "
                       f"{c.version.state}{' (contacts mailed)' if c.mailed else ''}")


def _policy_decide(decision: str) -> click.Command:
    @click.argument("client")
    @actor_option
    @pass_app
    def command(app: App, client: str, actor: str) -> None:
        v = app.policy_changes.decide(client, decision, actor=actor)
        click.echo(f"{client}: policy version {v.version} {v.state} by {v.decided_by}")
    return policy_group.command(
        "approve" if decision == "approved" else "challenge",
        help=f"Record that a contact of CLIENT {decision} its pending policy change.")(command)


_policy_decide("approved")
_policy_decide("challenged")
