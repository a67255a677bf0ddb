"""Keeping the client informed by mail: staff replies and progress notices, in the ticket's
thread. Runs as a Helpdesk listener, inside the action's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.change_requests import clock_description
from bot.clocks import ClockState
from bot.links import ClientLinks
from bot.mail import compose
from bot.mail.outbox import queue_mail
from bot.mail.signature import signer_name
from bot.model import Channel, Event, EventKind, OutboundMail, Staff
from bot.ports import UnitOfWork
from bot.readable import duration, when
from bot.services import TicketView
from bot.waiting import nudge_text, unanswered_text


class MailNotifier:
    """Queues mail to the requester of an email ticket when staff act on it."""

    def __init__(self, sender: str, reopen_hours: int = 168, team_name: str = "Support", *,
                 links: ClientLinks | None = None) -> None:
        self.sender = sender
        self.reopen_hours = reopen_hours
        self.team_name = team_name  # signs staff replies (with the person's name if staff)
        self.links = links  # signed links: the resolution mail carries the rating links

    def __call__(self, uow: UnitOfWork, view: TicketView, events: Sequence[Event]) -> None:
        t = view.ticket
        to = compose.safe_address(t.requester)
        if t.channel != Channel.EMAIL or to is None or t.id is None:
            return
        if any(e.kind == EventKind.REGISTERED for e in events):
            return  # the intake acknowledges a new ticket itself
        ticket_id = t.id
        read: list[list[str]] = []  # the thread, read when a mail is due, not for every event

        def thread() -> list[str]:
            if not read:
                read.append([m.message_id for m in uow.messages.for_ticket(ticket_id)]
                            + uow.outbox.sent_message_ids(ticket_id))
            return read[0]

        for e in events:
            mail = self._mail_for(e, view, to, thread, uow.staff.list)
            if mail is not None and queue_mail(uow, t, mail, e.at):
                thread().append(mail.message_id)

    def _mail_for(self, e: Event, view: TicketView, to: str, thread: Callable[[], list[str]],
                  staff: Callable[[], list[Staff]]) -> OutboundMail | None:
        """The mail ``e`` calls for, if any; ``thread()`` gives the Message-IDs to refer to
        (read only when a mail is made)."""
        key = f"{view.reference}.{e.id}"
        if e.kind == EventKind.RESPONDED and e.data.get("message"):
            return compose.staff_reply(view, to=to, sender=self.sender,
                                       text=str(e.data["message"]), thread=thread(), key=key,
                                       at=e.at, author=signer_name(e.actor, staff()),
                                       team=self.team_name)
        text = self._notice_text(e, view)
        if text is None:
            return None
        return compose.notice(view, to=to, sender=self.sender, text=text, thread=thread(),
                              key=key, at=e.at)

    def _notice_text(self, e: Event, view: TicketView) -> str | None:
        ref = view.reference
        if e.kind == EventKind.PRIORITY_SET and e.actor != "classifier":
            lines = [f"We changed the priority of {ref} from {e.data.get('previous')} to "
                     f"{e.data.get('priority')}.", f"Reason: {e.data.get('reason', '')}"]
            lines += [_due_line(c, view) for c in view.clocks.values() if c.running]
            return "\n".join(lines)
        if e.kind == EventKind.CAUSE_CONFIRMED:
            c = view.clocks.get("resolution")
            lines = [f"We have confirmed that the cause of {ref} lies in the software; "
                     "the resolution time runs from now."]
            if c is not None and c.running:
                lines.append(_due_line(c, view))
            return "\n".join(lines)
        if e.kind == EventKind.CLIENT_NUDGED:
            return nudge_text(e, view.policy, ref, "Reply to this mail")
        if e.kind == EventKind.RESOLVED:
            note = e.data.get("note")
            lines = [f"We consider {ref} resolved."]
            if e.data.get("unanswered"):
                lines = [unanswered_text(e, view.policy, ref)]
            elif note:
                lines.append(f"Resolution: {note}")
            lines.append(f"If it is not, reply to this mail within {self.reopen_hours // 24} "
                         "days and the ticket reopens.")
            if self.links is not None and view.ticket.id is not None:
                lines += rating_lines(self.links.rate_urls(view.ticket.id, e.at), ref)
            return "\n".join(lines)
        return None


SCORE_WORDS = {1: "very poor", 2: "poor", 3: "fair", 4: "good", 5: "excellent"}


def rating_lines(urls: dict[int, str], ref: str) -> list[str]:
    """The satisfaction question of a resolution mail: one link per score (each opens a page
    that asks to confirm, so a mail scanner opening links casts no vote)."""
    lines = ["", f"How did we do on {ref}? Choose a rating:"]
    lines += [f"  {n} ({SCORE_WORDS[n]}): {url}" for n, url in sorted(urls.items())]
    return lines


def _due_line(c: ClockState, view: TicketView) -> str:
    what = clock_description(view.policy, c.name)
    return f"{what}: due {when(c.due, view.policy.calendar.tz)} ({duration(c.left)} of working " \
           f"time left)"
