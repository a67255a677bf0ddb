"""A mail in an open (or resolved) ticket's thread: a follow-up, which may reopen it."""

from __future__ import annotations

from bot.mail.context import FOLLOWUP_TEXT_LIMIT, MailContext, Outcome, details, may_see
from bot.mail.quotes import strip_quoted
from bot.model import TicketStatus
from bot.pleasantries import is_pleasantry

NAME = "follow-up"
DESCRIPTION = ("Add the mail to the ticket it continues, unless that one is closed; the "
               "client's reply soon after resolution reopens it, a later one makes a new "
               "ticket (``mail.late_reply``); a pleasantry (\"Thanks!\") is only kept.")


def run(ctx: MailContext) -> Outcome | None:
    t = ctx.ticket
    if t is None or t.status == TicketStatus.CLOSED:
        return None
    assert t.id is not None
    uow, mail, sender, now = ctx.uow, ctx.parsed, ctx.sender, ctx.now
    since = t.resolved_for(now)
    late = since is not None and since > ctx.policy.reopen_within \
        and may_see(t, sender, ctx.client)
    text = strip_quoted(mail.text)
    if is_pleasantry(text):  # "Thanks!": kept, but it neither reopens nor makes a ticket
        ctx.store(t.id)
        t.receive_message(actor=sender or "unknown", now=now, data={
            "from": sender, "text": text[:FOLLOWUP_TEXT_LIMIT], "pleasantry": True,
            **details(mail)})
        action = "a pleasantry: kept on the ticket"
        uow.inbound.finish(ctx.inbound_id, "done", at=now, ticket_id=t.id, reason=action)
        return ctx.outcome("done", action, t.reference)
    if late and ctx.policy.late_reply == "new_ticket":
        return None  # registered as a new ticket that names this one
    ctx.store(t.id)
    t.receive_message(actor=sender or "unknown", now=now, data={
        "from": sender, "text": text[:FOLLOWUP_TEXT_LIMIT], **details(mail)})
    action = "follow-up"
    if may_see(t, sender, ctx.client) and t.client_answered(
            actor=sender or "unknown", now=now, channel="email"):
        action = "follow-up: the client answered, the ticket waits no more"
    elif may_see(t, sender, ctx.client) and t.reopen_by_client(
            actor=sender or "unknown", now=now, within=ctx.policy.reopen_within):
        action = "follow-up reopened the ticket"
    elif late:
        assert since is not None
        t.note(f"the client wrote {since.days} days after the resolution, past "
               "the reopen window: not reopened; reopen it or answer them", actor="mail",
               now=now)
        action = "follow-up after the reopen window: triage told"
    uow.inbound.finish(ctx.inbound_id, "done", at=now, ticket_id=t.id, reason=action)
    return ctx.outcome("done", action, t.reference)
