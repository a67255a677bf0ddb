"""``supportbot reminders list``: what the reminder loop will send next, and what it recorded
(sent, skipped, failed), times in each ticket's policy zone."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta, tzinfo
from typing import Any

import click

from adapters.bootstrap import App
from adapters.cli.options import json_option, pass_app
from adapters.storage.reminders import ReminderStore
from bot import readable
from bot.change_requests import clock_specs
from bot.errors import NotFound, PolicyError
from bot.model import id_of_reference, reference_of
from bot.reminders import Reminder, plan_ticket, upcoming
from bot.sla.durations import parse_duration


@click.group()
def reminders() -> None:
    """Deadline reminders: planned next, and recorded by the scheduler."""


def _within(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    try:
        d = parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    assert isinstance(d, timedelta)
    return d


def _planned(app: App, ticket_id: int | None, now: datetime,
             until: datetime) -> tuple[list[tuple[Reminder, tzinfo, str]], int]:
    """The reminders of open tickets not recorded yet, soonest first, up to ``until`` (with
    their ticket's zone and subject), and how many more are planned after it."""
    out: list[tuple[Reminder, tzinfo, str]] = []
    later = 0
    store = ReminderStore(app.db)
    for batch in store.open_tickets(None if ticket_id is None else [ticket_id]):
        store.describe(batch)
        for t in batch:
            try:
                policy = app.helpdesk.policies.get(t.policy)
            except PolicyError:
                continue  # the engine logs it; its tickets keep their last plan
            planned = plan_ticket(t.id, reference_of(t.id), t.priority, policy, t.events, now,
                                  specs=clock_specs(policy, t.kind, t.created_at or now))
            nxt = upcoming(planned, t.done, now)
            out += [(r, policy.calendar.tz, t.subject) for r in nxt if r.at <= until]
            later += sum(1 for r in nxt if r.at > until)
    out.sort(key=lambda x: (x[0].at, x[0].key))
    return out, later


def _zones(app: App, ticket_ids: set[int]) -> dict[int, tzinfo]:
    zones: dict[int, tzinfo] = {}
    with app.uow.reader() as uow:
        for tid in ticket_ids:
            t = uow.tickets.get(tid)
            if t is not None:
                with contextlib.suppress(PolicyError):  # then UTC, as stored
                    zones[tid] = app.helpdesk.policies.get(t.policy).calendar.tz
    return zones


@reminders.command("list")
@click.option("--ticket", "ref", help="only this ticket's reminders (T-1042)")
@click.option("--within", default="24h", show_default=True, callback=_within,
              help="planned reminders up to this far ahead (wall time: 12h, 90m)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="recorded reminders shown")
@json_option
@pass_app
def reminders_list(app: App, ref: str | None, within: timedelta, limit: int,
                   as_json: bool) -> None:
    """What goes out next (soonest first, as the tickets stand now), then what was recorded
    (newest first): key, state, when it was due and whether it went out late."""
    ticket_id = None
    if ref is not None:
        try:
            ticket_id = id_of_reference(ref)
        except ValueError as e:
            raise NotFound(str(e)) from None
    now = app.clock.now()
    planned, later = _planned(app, ticket_id, now, now + within)
    rows = ReminderStore(app.db).list(ticket_id, limit)
    if as_json:
        click.echo(json.dumps([_row_json(r) for r in rows], indent=2))
        return
    click.echo(f"Planned, next first (within {readable.duration(within)}; each ticket's "
               "policy zone):")
    if not planned:
        click.echo("  nothing")
    for r, tz, subject in planned:
        click.echo(f"  {readable.when(r.at, tz)}  {r.key}  {r.kind}"
                   + (f"  {subject[:50]}" if subject else ""))
    if later:
        click.echo(f"  {later} more later (--within to see further)")
    click.echo("Recorded, newest first:")
    if not rows:
        click.echo("  none yet")
    zones = _zones(app, {r["ticket_id"] for r in rows})
    for r in rows:
        note = r["reason"] or r["last_error"]
        tz = zones.get(r["ticket_id"], now.tzinfo)
        assert tz is not None
        click.echo(f"  {readable.when(r['due_at'], tz)}  {r['key']}  {r['state']}"
                   f"{' late' if r['late'] else ''}{'  ' + note[:60] if note else ''}")


def _row_json(r: dict[str, Any]) -> dict[str, Any]:
    return {"key": r["key"], "state": r["state"], "kind": r["kind"],
            "due_at": r["due_at"].isoformat(), "late": r["late"], "reason": r["reason"],
            "sinks": r["sinks_done"], "attempts": r["attempts"],
            "last_error": r["last_error"], "text": r["text"]}
