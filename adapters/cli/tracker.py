"""``supportbot tracker``: each client's joint tracker (Jira, Trello, Asana).

``sync`` makes the items missing for tickets that are not closed (made before the tracker was
configured, or whose create failed), one ticket at a time through the outbox (the reference
looked for first, so nothing is made twice): a progress bar on a terminal, lines otherwise, a
summary at the end. Each ticket is committed as it is done: interrupted, it goes on where it
stopped when run again. ``status`` shows per client what is queued, failed and last synced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from adapters.cli.options import pass_app
from bot.errors import NotFound

if TYPE_CHECKING:
    from adapters.bootstrap import App
    from adapters.trackers.sender import TrackerSender

NOT_CLOSED = ("new", "open", "paused", "resolved")


@click.group("tracker")
def tracker_group() -> None:
    """Each client's joint tracker (Jira, Trello, Asana): sync and status."""


@dataclass
class SyncSummary:
    seen: int = 0
    created: int = 0
    found: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (f"{self.seen} tickets without an item: {self.created} created, {self.found} "
                f"found already there, {self.failed} failed")
        return text + (f" (first: {self.errors[0]})" if self.errors else "")


@tracker_group.command("sync")
@click.option("--client", "client", default=None, help="only this client's tickets")
@pass_app
def sync(app: App, client: str | None) -> None:
    """Make the missing items for tickets that are not closed, with progress; resumable."""
    from adapters.storage.trackers import TrackerLinks
    from adapters.trackers.sender import TrackerSender
    from adapters.trackers.setup import link_base, tracker_apis

    apis = tracker_apis(app.settings)
    if client is not None and client not in apis:
        raise NotFound(f"client {client!r} has no tracker configured")
    clients = [client] if client else sorted(apis)
    sender = TrackerSender(app.uow, app.clock, apis, app.helpdesk,
                           link_base=link_base(app.settings))
    with app.uow.reader() as uow:
        todo = TrackerLinks(uow.session).unlinked(clients, NOT_CLOSED)
    from adapters.cli.progress import Progress

    summary = SyncSummary()
    bar = Progress(unit="ticket", what="tickets")
    try:
        for ticket_id, client in todo:
            _sync_one(app, sender, ticket_id, client, summary)
            bar.advance(summary.seen, len(todo), created=summary.created, found=summary.found,
                        failed=summary.failed)
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"interrupted: {summary.line()}; run the same command again to go on")
        raise SystemExit(130) from None
    bar.close()
    click.echo(summary.line())
    if summary.failed:
        raise SystemExit(1)


def _sync_one(app: App, sender: TrackerSender, ticket_id: int, client: str,
              summary: SyncSummary) -> None:
    """Queue (or queue again, if it failed) the ticket's create and deliver it now."""
    from adapters.storage.outbox import OutboxStore
    from adapters.storage.trackers import TrackerLinks

    summary.seen += 1
    now = app.clock.now()
    with app.uow() as uow:
        links = TrackerLinks(uow.session)
        row = links.create_row(ticket_id)
        if row is None:
            links.queue(ticket_id, client, "create", f"create:{ticket_id}", now)
            row = links.create_row(ticket_id)
        elif row[1] in ("failed", "dropped"):
            OutboxStore(uow.session).requeue(row[0], now, "queued again by tracker sync")
        uow.commit()
    assert row is not None
    created, found = sender.created, sender.found
    item = sender.outbox.claim(row[0])
    if item is not None and sender.deliver(item):
        summary.created += sender.created - created
        summary.found += sender.found - found
        return
    with app.uow.reader() as uow:
        state = OutboxStore(uow.session).get(row[0])
    if state is not None and state.state == "sent":  # delivered by a running bot meanwhile
        summary.found += 1
        return
    summary.failed += 1
    summary.errors.append(f"{_ref(ticket_id)}: {state.last_error if state else 'gone'}")


def _ref(ticket_id: int) -> str:
    from bot.model import reference_of

    return reference_of(ticket_id)


@tracker_group.command("status")
@pass_app
def status(app: App) -> None:
    """Per client: the tracker, items linked, work queued and failed, last synced."""
    from adapters.storage.trackers import TrackerLinks
    from bot.readable import when

    with app.uow.reader() as uow:
        links = TrackerLinks(uow.session)
        found, failures = links.status(), links.failures()
    trackers = {c.name: c.tracker.kind for c in app.settings.clients if c.tracker}
    if not trackers:
        click.echo("no client has a tracker configured")
        return
    tz = app.helpdesk.policies.get(None).calendar.tz
    for client, kind in sorted(trackers.items()):
        entry = found.get(client, {"states": {}, "linked": 0, "last": None})
        states = entry["states"]
        queued = states.get("pending", 0) + states.get("sending", 0)
        last = when(entry["last"], tz) if entry["last"] else "never"
        click.echo(f"{client} ({kind}): {entry['linked']} items, {queued} queued, "
                   f"{states.get('failed', 0)} failed, {states.get('sent', 0)} sent; "
                   f"last synced {last}")
        for c, ticket_id, action, error in failures:
            if c == client:
                ref = _ref(ticket_id) if ticket_id is not None else "-"
                click.echo(f"  failed: {ref} {action}: {error}")
