"""A mail in an open (or resolved) ticket's thread: a follow-up, which may reopen it."""

from __future__ import annotations

from bot.mail.context import FOLLOWUP_TEXT_LIMIT, MailContext, Outcome, details, may_see
from bot.mail.quotes import strip_quoted
from bot.model import Event, EventKind, TicketStatus

NAME = "follow-up"
DESCRIPTION = ("Add the mail to the ticket it continues, unless that one is closed; the "
               "client's reply soon after resolution reopens it.")


def run(ctx: MailContext) -> Outcome | None:
    t = ctx.ticket
    if t is None or t.status == TicketStatus.CLOSED:
        return None
    assert t.id is not None
    uow, mail, sender, now = ctx.uow, ctx.parsed, ctx.sender, ctx.now
    ctx.store(t.id)
    events = [Event(EventKind.MESSAGE_RECEIVED, now, sender or "unknown", {
        "from": sender, "text": strip_quoted(mail.text)[:FOLLOWUP_TEXT_LIMIT],
        **details(mail)})]
    action = "follow-up"
    if t.status == TicketStatus.RESOLVED and may_see(t, sender, ctx.client):
        resolved_at = max((e.at for e in t.events if e.kind == EventKind.RESOLVED),
                          default=now)
        if now - resolved_at <= ctx.policy.reopen_within:
            t.status = TicketStatus.OPEN
            events.append(Event(EventKind.REOPENED, now, sender, {
                "reason": "the client replied after resolution"}))
            action = "follow-up reopened the ticket"
    uow.tickets.append(t, *events)
    ctx.helpdesk.announce(uow, t, events)
    uow.inbound.finish(ctx.inbound_id, "done", at=now, ticket_id=t.id, reason=action)
    return ctx.outcome("done", action, t.reference)
