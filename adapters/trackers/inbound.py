"""Applying a tracker's changes to their tickets, in the inbox's transaction: each change
finds its ticket by the item's key, goes through the aggregate (no echo:
:func:`bot.tracker.inbound.apply_change`), and the link notes what the item shows now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.inbox.processor import Decision
from adapters.storage import SqlUnitOfWork
from adapters.storage.trackers import TrackerLinks
from bot.errors import InvalidAction
from bot.priority import Priority
from bot.services import Helpdesk
from bot.tracker.inbound import Mirrored, TrackerChange, apply_change


def apply_changes(uow: SqlUnitOfWork, helpdesk: Helpdesk, client: str,
                  changes: Sequence[TrackerChange], now: datetime) -> Decision:
    links = TrackerLinks(uow.session)
    done: list[str] = []
    ticket_id: int | None = None
    for ch in changes:
        link = links.by_key(ch.kind, client, ch.key)
        if link is None:
            done.append(f"{ch.key}: no ticket has this item")
            continue
        ticket = uow.tickets.get(link.ticket_id, for_update=True)
        if ticket is None:
            continue
        ticket_id = link.ticket_id
        mirrored = Mirrored(link.state, Priority.parse(link.priority) if link.priority
                            else None)
        try:
            what = apply_change(ticket, ch, mirrored, now=now, phone_followup=helpdesk.policies
                                .get(ticket.policy).phone_followup)
        except InvalidAction as e:  # e.g. a closed ticket: nothing to do, said why
            what = [f"refused: {e}"]
        values = {k: v for k, v in (("state", ch.state), ("priority", ch.priority.value
                                                             if ch.priority else None)) if v}
        if values:
            links.mirrored(link.ticket_id, now, **values)
        done.append(f"{ticket.reference} ({ch.key}): {', '.join(what) or 'no change (echo)'}")
    helpdesk.publish(uow)
    changed = any(not d.endswith("(echo)") and "no ticket" not in d for d in done)
    return Decision("done" if changed else "ignored", "; ".join(done) or "nothing to apply",
                    ticket_id=ticket_id)
