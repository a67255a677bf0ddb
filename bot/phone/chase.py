"""Chasing a P1's late phone follow-up: the client is reminded by mail (when it came by mail)
and triage gets an alert, once per follow-up requirement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.alerts import Alert
from bot.change_requests import ticket_clocks
from bot.clock import Clock
from bot.mail import compose
from bot.model import Channel, Event, EventKind, Ticket, id_of_reference
from bot.phone.followup import followup_due, followup_required_at
from bot.phone.ports import PhonePolicy
from bot.ports import PhoneUnitOfWork
from bot.services import Helpdesk, TicketView


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
        first = len(t.events)
        text = (f"We have not yet received the phone call that must follow a priority 1 "
                f"report ({ref}).")
        if phone.phone_number:
            text += f"\nPlease call us now on {phone.phone_number} and mention {ref}."
        to = compose.safe_address(t.requester) if t.channel == Channel.EMAIL else None
        missing = Event(EventKind.PHONE_FOLLOWUP_MISSING, now, "pager", {
            "due": due.isoformat(), "reminded": to or ""})
        uow.tickets.append(t, missing)
        if to is not None and t.id is not None:
            thread = [m.message_id for m in uow.messages.for_ticket(t.id)]
            thread += uow.outbox.sent_message_ids(t.id)
            mail = compose.notice(view, to=to, sender=phone.mail_sender, text=text,
                                  thread=thread, key=f"{ref}.followup.{missing.at:%s}",
                                  at=now)
            if uow.outbox.add(mail, at=now):
                uow.tickets.append(t, Event(EventKind.MAIL_SENT, now, "mail", {
                    "purpose": mail.purpose, "to": [to], "message_id": mail.message_id}))
        helpdesk.announce(uow, t, t.events[first:])
        uow.commit()
    return Alert(key=f"{ref}/followup-missing/{due.isoformat()}", ticket_id=t.id or 0,
                 reference=ref, client=t.client_name, priority=t.priority,
                 kind="followup-missing",
                 text=f"{ref}: the client's phone follow-up of this P1 was due "
                      f"{due.isoformat()} and has not come; the client was "
                      f"{'reminded by mail' if to else 'not reachable by mail'}.",
                 at=now, due=due)


def _chased(t: Ticket) -> bool:
    since = followup_required_at(t)
    return since is not None and any(e.kind == EventKind.PHONE_FOLLOWUP_MISSING and e.at >= since
                                     for e in t.events)
