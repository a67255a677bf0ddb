"""Chasing a P1's late phone follow-up: the client is reminded by mail (when it came by mail;
the Slack adapter reminds a Slack ticket's client in its thread on the missing-call event) and
triage gets an alert, once per follow-up requirement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot import readable
from bot.alerts import Alert
from bot.change_requests import ticket_clocks
from bot.clock import Clock
from bot.mail import compose
from bot.mail.outbox import queue_mail
from bot.model import Channel, EventKind, id_of_reference
from bot.phone.followup import followup_due, followup_required_at, reminder_text
from bot.phone.ports import PhonePolicy
from bot.ports import PhoneUnitOfWork
from bot.services import Helpdesk, TicketView
from bot.ticket import Ticket


def chase_missing(uow: Callable[[], PhoneUnitOfWork], clock: Clock, helpdesk: Helpdesk,
                  phone: PhonePolicy, deliver: Callable[[Alert], None]) -> int:
    """Tell the client (by mail) and triage (an alert) about each P1 whose call is late;
    once per requirement. Returns how many were chased."""
    chased = 0
    now = clock.now()
    with uow() as u:
        waiting = u.phone.awaiting_followup()
    for t in waiting:
        policy = helpdesk.policies.get(t.policy)
        due = followup_due(t, policy, phone.followup_within)
        if due is None or now < due or _chased(t):
            continue
        alert = _chase(uow, clock, helpdesk, phone, t.reference, due)
        if alert is not None:
            chased += 1
            deliver(alert)
    return chased


def _chase(uow_of: Callable[[], PhoneUnitOfWork], clock: Clock, helpdesk: Helpdesk,
           phone: PhonePolicy, ref: str, due: datetime) -> Alert | None:
    now = clock.now()
    with uow_of() as uow:
        t = uow.tickets.get(id_of_reference(ref), for_update=True)
        if t is None or t.phone_followup != "pending" or _chased(t):
            return None
        policy = helpdesk.policies.get(t.policy)
        view = TicketView(t, policy, ticket_clocks(policy, t, now), now)
        text = reminder_text(ref, phone.phone_number)
        to = compose.safe_address(t.requester) if t.channel == Channel.EMAIL else None
        t.followup_missing(due=due, reminded=to or "", now=now)
        if to is not None and t.id is not None:
            thread = [m.message_id for m in uow.messages.for_ticket(t.id)]
            thread += uow.outbox.sent_message_ids(t.id)
            mail = compose.notice(view, to=to, sender=phone.mail_sender, text=text,
                                  thread=thread, key=f"{ref}.followup.{now:%s}", at=now)
            queue_mail(uow, t, mail, now)
        helpdesk.publish(uow)
        uow.commit()
    return Alert(key=f"{ref}/followup-missing/{due.isoformat()}", ticket_id=t.id or 0,
                 reference=ref, client=t.client_name, priority=t.priority,
                 kind="followup-missing",
                 text=f"{ref}: the client's phone follow-up of this P1 was due "
                      f"{readable.when(due, policy.calendar.tz)} and has not come; the client "
                      f"was {_reminded(t, to)}.",
                 at=now, due=due)


def _reminded(t: Ticket, to: str | None) -> str:
    """How the client was reminded: by mail, or in their Slack thread (by the Slack adapter's
    listener of the missing-call event)."""
    if to:
        return "reminded by mail"
    return "reminded in their Slack thread" if t.channel == Channel.SLACK \
        else "not reachable by mail"


def _chased(t: Ticket) -> bool:
    since = followup_required_at(t)
    return since is not None and any(e.kind == EventKind.PHONE_FOLLOWUP_MISSING and e.at >= since
                                     for e in t.events)
