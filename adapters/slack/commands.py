"""``/ticket`` and the triage post's buttons: Slack users mapped to staff, every action done
through the Helpdesk and recorded with the Slack user. Blocking: call from a thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.render import clock_line, ticket_row
from adapters.slack.format import escape
from adapters.storage import SqlUnitOfWork
from bot.errors import InvalidAction, NotFound
from bot.model import Channel, Staff
from bot.priority import Priority
from bot.services import Helpdesk, TicketView
from bot.views import ACTIVE

HELP = """\
`/ticket new SUBJECT [| DETAILS]`: register a ticket (this channel's client, if any)
`/ticket show T-1042`
`/ticket list [mine|open|at-risk]`
`/ticket take T-1042`
`/ticket priority T-1042 P2 REASON`
`/ticket reply T-1042 TEXT`: to the client (by mail, or in their Slack thread); stops the \
response clock
`/ticket ask T-1042 QUESTION`: reply as a question; the ticket waits for the client's answer
`/ticket wait T-1042 [REASON]`: wait for the client (the policy's waiting clocks pause until \
they answer), `/ticket resume T-1042`
`/ticket confirm-cause T-1042 [NOTE]`: the cause is the software; the resolution clock starts
`/ticket resolve T-1042 [NOTE]`, `/ticket reopen T-1042 REASON`
`/ticket hours T-1042 1.5 [NOTE]`: time spent, for the reports
`/ticket help`"""


class NotStaff(InvalidAction):
    """A Slack user who is not in ``[[staff]]`` tried a staff action."""


class SlackCommands:
    def __init__(self, helpdesk: Helpdesk, read: Callable[[], SqlUnitOfWork]) -> None:
        self.helpdesk = helpdesk
        self._read = read

    def staff(self, user: str) -> Staff:
        with self._read() as uow:
            found = next((s for s in uow.staff.list() if s.slack_user == user), None)
        if found is None:
            raise NotStaff(f"<@{user}> is not a staff member here "
                           "(staff[].slack_user in the bot's settings)")
        return found

    @staticmethod
    def actor(staff: Staff, user: str) -> str:
        return f"{staff.name} (slack:{user})"

    # -- /ticket ------------------------------------------------------------------------------

    def command(self, user: str, channel: str, text: str) -> str:
        """Run ``/ticket TEXT``; returns the (ephemeral) answer. Raises SupportbotError."""
        verb, _, rest = text.strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb in ("", "help"):
            return HELP
        staff = self.staff(user)
        actor = self.actor(staff, user)
        h = self.helpdesk
        if verb == "new":
            subject, _, details = rest.partition("|")
            if not subject.strip():
                raise InvalidAction("usage: /ticket new SUBJECT [| DETAILS]")
            with self._read() as uow:
                client = next((c for c in uow.clients.list() if channel in c.slack_channels),
                              None)
            v = h.register(subject=subject.strip(), body=details.strip(),
                           client=client.name if client else None, channel=Channel.SLACK,
                           requester=f"slack:{user}", actor=actor)
            return f"Registered {summary(v)}"
        if verb == "list":
            which = rest.lower() or "open"
            if which not in ("mine", "open", "at-risk"):
                raise InvalidAction("usage: /ticket list [mine|open|at-risk]")
            views = h.list(statuses=ACTIVE, at_risk=which == "at-risk",
                           assignee=staff.name if which == "mine" else None, limit=20)
            if not views:
                return f"No {which} tickets."
            return "```\n" + "\n".join(escape(ticket_row(v)) for v in views) + "\n```"
        ref, _, rest = rest.partition(" ")
        rest = rest.strip()
        if not ref:
            raise InvalidAction(f"usage: /ticket {verb} T-1042 ... (see /ticket help)")
        if verb == "show":
            return show(h.show(ref))
        if verb == "take":
            return done(h.assign(ref, staff.name, actor=actor), f"assigned to {staff.name}")
        if verb == "priority":
            p, _, reason = rest.partition(" ")
            try:
                priority = Priority.parse(p)
            except ValueError as e:
                raise InvalidAction(f"{e} (usage: /ticket priority T-1042 P2 REASON)") from None
            return done(h.set_priority(ref, priority, actor=actor, reason=reason.strip()),
                        f"now {priority}")
        if verb == "reply":
            if not rest:
                raise InvalidAction("usage: /ticket reply T-1042 TEXT")
            return done(h.respond(ref, actor=actor, message=rest), "reply sent to the client")
        if verb == "ask":
            if not rest:
                raise InvalidAction("usage: /ticket ask T-1042 QUESTION")
            return done(h.respond(ref, actor=actor, message=rest, as_question=True),
                        "question sent; waiting for the client's answer")
        if verb == "wait":
            return done(h.wait_for_client(ref, actor=actor, reason=rest),
                        "waiting for the client's answer")
        if verb == "resume":
            return done(h.resume(ref, actor=actor, note=rest), "counting again")
        if verb == "confirm-cause":
            return done(h.confirm_cause(ref, actor=actor, note=rest),
                        "cause confirmed; the resolution clock runs")
        if verb == "resolve":
            return done(h.resolve(ref, actor=actor, note=rest), "resolved")
        if verb == "reopen":
            return done(h.reopen(ref, actor=actor, reason=rest), "reopened")
        if verb == "hours":
            amount, _, note = rest.partition(" ")
            try:
                hours = float(amount)
            except ValueError:
                raise InvalidAction(f"{amount!r} is not a number of hours "
                                    "(usage: /ticket hours T-1042 1.5)") from None
            return done(h.log_time(ref, hours, actor=actor, note=note.strip()),
                        f"{hours:g} h logged")
        raise InvalidAction(f"unknown command {verb!r}; try /ticket help")

    # -- buttons ------------------------------------------------------------------------------

    def button(self, user: str, action: dict[str, Any]) -> str:
        """Carry out a triage-post button or menu choice; returns what was done."""
        staff = self.staff(user)
        actor = self.actor(staff, user)
        name = str(action.get("action_id", "")).removeprefix("ticket_")
        h = self.helpdesk
        if name == "priority":
            value = str((action.get("selected_option") or {}).get("value", ""))
            ref, _, p = value.partition(":")
            priority = Priority.parse(p)
            return done(h.set_priority(ref, priority, actor=actor,
                                       reason=f"set in Slack by {staff.name}"), f"now {priority}")
        ref = str(action.get("value", ""))
        if name == "take":
            return done(h.assign(ref, staff.name, actor=actor), f"assigned to {staff.name}")
        if name == "confirm_cause":
            return done(h.confirm_cause(ref, actor=actor), "cause confirmed")
        if name == "resolve":
            return done(h.resolve(ref, actor=actor), "resolved")
        if name == "reopen":
            return done(h.reopen(ref, actor=actor, reason=f"reopened in Slack by {staff.name}"),
                        "reopened")
        raise NotFound(f"unknown action {name!r}")


def summary(v: TicketView) -> str:
    t = v.ticket
    return (f"*{t.reference}* {t.priority} {t.status}: {escape(t.subject)} "
            f"({escape(t.client_name) or 'unassigned'})")


def done(v: TicketView, what: str) -> str:
    return f"{v.reference}: {what}."


def show(v: TicketView) -> str:
    t = v.ticket
    lines = [summary(v)]
    if t.assignee:
        lines.append(f"assigned to {escape(t.assignee)}")
    lines += [escape(clock_line(c, v)) for c in v.clocks.values()]
    if t.phone_followup:
        lines.append(f"P1 phone follow-up: {t.phone_followup}")
    lines.append(f"{len(t.events)} events; last: {t.events[-1].kind} by "
                 f"{escape(t.events[-1].actor)}" if t.events else "no events")
    return "\n".join(lines)
