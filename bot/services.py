"""The service layer: every ticket action, in one transaction each, with its events.
Entry points (CLI, mail, Slack, phone) call these and nothing else to change a ticket, so the rules
about what may happen when live in one place. Time comes from the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.change_requests import CHANGE_REQUEST, ticket_clocks
from bot.classify import Classification, Report, classify
from bot.classify.change_request import change_request_reason
from bot.clock import Clock
from bot.errors import InvalidAction, NotFound
from bot.model import (
    Channel,
    Client,
    Event,
    EventKind,
    Staff,
    Ticket,
    TicketStatus,
    id_of_reference,
)
from bot.policies import PolicyBook
from bot.ports import UnitOfWork
from bot.priority import Priority
from bot.sla.policy import Policy
from bot.views import TicketView

ACTIVE = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PAUSED)
MAX_TELL_ROUNDS = 8
"""How many rounds of events appended by listeners one change may cause (a loop is a bug)."""

_Act = Callable[[Ticket, Policy, datetime], list[Event]]
"""A staff action: checks the ticket, changes it, returns the events that say so."""

Listener = Callable[["UnitOfWork", "TicketView", "Sequence[Event]"], None]
"""Told of a ticket's new events inside their transaction (before the commit): a registration,
every staff action, and what intakes append through ``Helpdesk.announce``. What a listener
queues (a mail to the client, a Slack post) commits or rolls back with the events; a listener
never does network I/O itself."""


class Helpdesk:
    """Registers tickets and carries out staff actions on them."""

    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock, policies: PolicyBook,
                 listeners: Sequence[Listener] = ()) -> None:
        self._uow = uow
        self.clock = clock
        self.policies = policies
        self.listeners = list(listeners)

    # -- directory ------------------------------------------------------------------------

    def sync_directory(self, clients: Iterable[Client], staff: Iterable[Staff] = ()) -> None:
        """Make the stored clients and staff match the configuration (added or updated)."""
        with self._uow() as uow:
            for c in clients:
                self.policies.get(c.policy)  # fail early on a client naming an unknown policy
                uow.clients.upsert(c)
            for s in staff:
                uow.staff.upsert(s)
            uow.commit()

    def client(self, name: str) -> Client:
        with self._uow() as uow:
            c = uow.clients.get(name)
        if c is None:
            raise NotFound(f"no client named {name!r}")
        return c

    # -- intake ----------------------------------------------------------------------------

    def classify(self, subject: str, body: str, headers: Mapping[str, str] | None = None,
                 client: Client | None = None) -> Classification:
        policy = self.policies.get(client.policy if client else None)
        return classify(Report(
            subject=subject, body=body, headers=dict(headers or {}),
            client_default=(client.default_priority if client else None) or
            policy.default_priority,
            client_sets_priority=policy.priority_set_by == "client",
        ))

    def register(self, *, subject: str, body: str = "", client: str | None = None,
                 channel: Channel = Channel.CLI, requester: str | None = None,
                 headers: Mapping[str, str] | None = None, priority: Priority | None = None,
                 actor: str = "system", reason: str = "", kind: str = "incident") -> TicketView:
        """Register a new ticket, classified unless ``priority`` is given by staff.

        A ticket with no client goes to the unassigned queue under the default policy.
        """
        with self._uow() as uow:
            c = uow.clients.get(client) if client else None
            if client and c is None:
                raise NotFound(f"no client named {client!r}")
            view = self.register_in(uow, subject=subject, body=body, client=c,
                                    channel=channel, requester=requester, headers=headers,
                                    priority=priority, actor=actor, reason=reason, kind=kind)
            uow.commit()
        return view

    def register_in(self, uow: UnitOfWork, *, subject: str, body: str, client: Client | None,
                    channel: Channel, requester: str | None = None,
                    headers: Mapping[str, str] | None = None,
                    priority: Priority | None = None, actor: str = "system", reason: str = "",
                    kind: str = "incident",
                    details: Mapping[str, Any] | None = None) -> TicketView:
        """``register`` inside the caller's transaction (the caller commits). ``details`` go
        into the ``registered`` event (the message's id and attachments, say)."""
        now = self.clock.now()
        c = client
        policy = self.policies.get(c.policy if c else None)
        found = self.classify(subject, body, headers, c)
        if kind == "incident" and (why := change_request_reason(subject, body)) is not None:
            kind, details = CHANGE_REQUEST, {**(details or {}), "kind_reason": why.text}
        ticket = Ticket(
            client_id=c.id if c else None, client_name=c.name if c else "",
            policy=policy.name, subject=subject.strip() or "(no subject)", body=body,
            priority=priority or found.priority, channel=channel,
            status=TicketStatus.NEW, created_at=now, requester=requester, kind=kind,
        )
        ticket.events = [
            Event(EventKind.REGISTERED, now, actor, {"channel": channel.value, **(details or {})}),
            Event(EventKind.PRIORITY_SET, now, "classifier", {
                "priority": found.priority.value,
                "confidence": round(found.confidence, 2),
                "reasons": [r.text for r in found.reasons],
                "rules": [r.rule for r in found.reasons],
            }),
        ]
        if priority is not None:  # staff decided: audited even when it agrees
            ticket.events.append(Event(EventKind.PRIORITY_SET, now, actor, {
                "priority": priority.value, "previous": found.priority.value,
                "reason": reason or "set at registration"}))
        if ticket.priority in policy.phone_followup:
            ticket.events.append(Event(EventKind.PHONE_FOLLOWUP_REQUIRED, now, "system", {
                "reason": f"{ticket.priority} must be followed up by a phone call"}))
        uow.tickets.add(ticket)
        view = self._view(ticket, policy, now)
        self._tell(uow, view, ticket.events)
        return view

    def announce(self, uow: UnitOfWork, ticket: Ticket, events: Sequence[Event]) -> None:
        """Tell the listeners of ``events`` just appended to ``ticket`` by someone other than
        a staff action (a client's follow-up by mail, say), inside the caller's transaction.
        Listeners get the log's copies (the tail of ``ticket.events``), which carry their ids."""
        if self.listeners and events:
            stored = ticket.events[len(ticket.events) - len(events):]
            now = self.clock.now()
            self._tell(uow, self._view(ticket, self.policies.get(ticket.policy), now), stored)

    def _tell(self, uow: UnitOfWork, view: TicketView, events: Sequence[Event]) -> None:
        """Every listener hears ``events``; then what listeners appended to the same ticket
        meanwhile (a mail queued, paging started) is told to all of them in turn, so no
        listener's news depends on the order listeners were added in."""
        t = view.ticket
        events = list(events)  # a listener may append to the list it was given
        for _round in range(MAX_TELL_ROUNDS):
            told = len(t.events)
            for listener in self.listeners:
                listener(uow, view, events)
            events = t.events[told:]
            if not events:
                return
            view = self._view(t, view.policy, view.now)
        raise RuntimeError(f"{t.reference}: listeners kept appending events to each other's "
                           f"news for {MAX_TELL_ROUNDS} rounds")

    # -- staff actions ----------------------------------------------------------------------

    def set_priority(self, ref: str, priority: Priority, *, actor: str, reason: str) -> TicketView:
        if not reason.strip():
            raise InvalidAction("a priority change needs a reason (it goes in the audit trail)")

        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            self._not_closed(t)
            if t.priority == priority:
                raise InvalidAction(f"{t.reference} is already {priority}")
            events = [Event(EventKind.PRIORITY_SET, now, actor, {
                "priority": priority.value, "previous": t.priority.value, "reason": reason})]
            t.priority = priority
            followup = t.phone_followup
            if priority in policy.phone_followup and followup in (None, "waived"):
                events.append(Event(EventKind.PHONE_FOLLOWUP_REQUIRED, now, "system", {
                    "reason": f"raised to {priority}: must be followed up by a phone call"}))
            elif priority not in policy.phone_followup and followup == "pending":
                events.append(Event(EventKind.PHONE_FOLLOWUP_WAIVED, now, "system", {
                    "reason": f"lowered to {priority}: no phone follow-up needed"}))
            return events

        return self._act(ref, act)

    def respond(self, ref: str, *, actor: str, message: str = "") -> TicketView:
        """Record a response to the client (the first one stops the response clock)."""
        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            self._not_closed(t)
            if t.status == TicketStatus.NEW:
                t.status = TicketStatus.OPEN
            return [Event(EventKind.RESPONDED, now, actor, {"message": message} if message else {})]

        return self._act(ref, act)

    def confirm_cause(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        """Both sides agree the cause is the software: the resolution clock starts."""
        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            self._not_closed(t)
            done = next((e for e in t.events if e.kind == EventKind.CAUSE_CONFIRMED), None)
            if done is not None:
                raise InvalidAction(f"{t.reference}: cause already confirmed "
                                    f"{done.at:%Y-%m-%d %H:%M} UTC by {done.actor}")
            if t.status == TicketStatus.RESOLVED:
                raise InvalidAction(f"{t.reference} is resolved; reopen it first")
            return [Event(EventKind.CAUSE_CONFIRMED, now, actor, {"note": note} if note else {})]

        return self._act(ref, act)

    def pause(self, ref: str, *, actor: str, reason: str) -> TicketView:
        if not reason.strip():
            raise InvalidAction("pausing needs a reason (e.g. 'waiting for the client's logs')")

        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            if t.status not in (TicketStatus.NEW, TicketStatus.OPEN):
                raise InvalidAction(f"{t.reference} is {t.status}; only new or open tickets pause")
            t.status = TicketStatus.PAUSED
            return [Event(EventKind.PAUSED, now, actor, {"reason": reason})]

        return self._act(ref, act)

    def resume(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            if t.status != TicketStatus.PAUSED:
                raise InvalidAction(f"{t.reference} is {t.status}, not paused")
            responded = any(e.kind == EventKind.RESPONDED for e in t.events)
            t.status = TicketStatus.OPEN if responded else TicketStatus.NEW
            return [Event(EventKind.RESUMED, now, actor, {"note": note} if note else {})]

        return self._act(ref, act)

    def resolve(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            if t.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
                raise InvalidAction(f"{t.reference} is already {t.status}")
            t.status = TicketStatus.RESOLVED
            return [Event(EventKind.RESOLVED, now, actor, {"note": note} if note else {})]

        return self._act(ref, act)

    def reopen(self, ref: str, *, actor: str, reason: str) -> TicketView:
        if not reason.strip():
            raise InvalidAction("reopening needs a reason")

        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            if t.status != TicketStatus.RESOLVED:
                raise InvalidAction(f"{t.reference} is {t.status}; only resolved tickets reopen")
            t.status = TicketStatus.OPEN
            return [Event(EventKind.REOPENED, now, actor, {"reason": reason})]

        return self._act(ref, act)

    def close(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        return self._act(ref, self._closing(actor, note))

    def close_in(self, uow: UnitOfWork, t: Ticket, *, actor: str, note: str = "",
                 data: Mapping[str, Any] | None = None) -> None:
        """``close`` inside the caller's transaction, on a ticket it holds (``for_update``);
        ``data`` goes into the ``closed`` event (``merged_into``, say)."""
        self._act_in(uow, t, self._closing(actor, note, data), self.clock.now())

    def _closing(self, actor: str, note: str,
                 data: Mapping[str, Any] | None = None) -> _Act:
        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            self._not_closed(t)
            t.status = TicketStatus.CLOSED
            return [Event(EventKind.CLOSED, now, actor,
                          {**({"note": note} if note else {}), **(data or {})})]

        return act

    def log_time(self, ref: str, hours: float, *, actor: str, note: str = "") -> TicketView:
        """Record time spent, for the per-priority hours of the reports."""
        if not 0 < hours <= 24:
            raise InvalidAction(f"hours must be more than 0 and at most 24 at a time (got {hours})")

        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            data: dict[str, Any] = {"hours": hours, "priority": t.priority.value}
            if note:
                data["note"] = note
            return [Event(EventKind.TIME_LOGGED, now, actor, data)]

        return self._act(ref, act)

    def correct_outage(self, ref: str, *, start: datetime | None, end: datetime | None,
                       none: bool = False, reason: str, actor: str) -> TicketView:
        """Set the outage interval the availability counts for this ticket (or none at all),
        instead of registration to resolution; recorded as an event, the last one wins."""
        from bot.availability import correction_data

        data = correction_data(start, end, none=none, reason=reason)
        return self._act(ref, lambda t, p, now: [Event(EventKind.OUTAGE_CORRECTED, now, actor,
                                                       data)])

    def note(self, ref: str, text: str, *, actor: str) -> TicketView:
        if not text.strip():
            raise InvalidAction("an empty note says nothing")
        return self._act(ref, lambda t, p, now: [Event(EventKind.NOTE, now, actor,
                                                       {"text": text})])

    def assign(self, ref: str, assignee: str, *, actor: str) -> TicketView:
        return self._act(ref, self._assigning(assignee, actor))

    def assign_in(self, uow: UnitOfWork, t: Ticket, assignee: str, *, actor: str) -> None:
        """``assign`` inside the caller's transaction, on a ticket it holds (``for_update``)."""
        self._act_in(uow, t, self._assigning(assignee, actor), self.clock.now())

    def _assigning(self, assignee: str, actor: str) -> _Act:
        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            self._not_closed(t)
            previous, t.assignee = t.assignee, assignee
            return [Event(EventKind.ASSIGNED, now, actor,
                          {"assignee": assignee, "previous": previous})]

        return act

    def confirm_phone_followup(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        def act(t: Ticket, policy: Policy, now: datetime) -> list[Event]:
            if t.phone_followup == "confirmed":
                raise InvalidAction(f"{t.reference}: phone follow-up already confirmed")
            if t.phone_followup is None:
                raise InvalidAction(f"{t.reference} is {t.priority}: no phone follow-up needed")
            return [Event(EventKind.PHONE_FOLLOWUP_CONFIRMED, now, actor,
                          {"note": note} if note else {})]

        return self._act(ref, act)

    # -- reading ---------------------------------------------------------------------------

    def show(self, ref: str) -> TicketView:
        now = self.clock.now()
        with self._uow() as uow:
            t = self._get(uow, ref)
        return self._view(t, self.policies.get(t.policy), now)

    def list(self, *, client: str | None = None, statuses: Sequence[TicketStatus] = (),
             at_risk: bool = False, assignee: str | None = None,
             limit: int = 100) -> list[TicketView]:
        now = self.clock.now()
        with self._uow() as uow:
            if client is not None and uow.clients.get(client) is None:
                raise NotFound(f"no client named {client!r}")
            tickets = uow.tickets.list(client=client, statuses=statuses,
                                       limit=limit if not (at_risk or assignee) else 100_000)
        views = [self._view(t, self.policies.get(t.policy), now) for t in tickets]
        if assignee is not None:
            views = [v for v in views if v.ticket.assignee == assignee]
        if at_risk:
            views = [v for v in views if v.at_risk()]
            views.sort(key=lambda v: (n.due if (n := v.next_due()) else now + timedelta(days=9999)))
        return views[:limit]

    # -- internals -------------------------------------------------------------------------

    def _view(self, t: Ticket, policy: Policy, now: datetime) -> TicketView:
        return TicketView(t, policy, ticket_clocks(policy, t, now), now)

    @staticmethod
    def _get(uow: UnitOfWork, ref: str, *, for_update: bool = False) -> Ticket:
        try:
            ticket_id = id_of_reference(ref)
        except ValueError as e:
            raise NotFound(str(e)) from None
        t = uow.tickets.get(ticket_id, for_update=for_update)
        if t is None:
            raise NotFound(f"no ticket {ref.upper()}")
        return t

    @staticmethod
    def _not_closed(t: Ticket) -> None:
        if t.status == TicketStatus.CLOSED:
            raise InvalidAction(f"{t.reference} is closed")

    def _act(self, ref: str, act: _Act) -> TicketView:
        now = self.clock.now()
        with self._uow() as uow:
            t = self._get(uow, ref, for_update=True)
            policy = self._act_in(uow, t, act, now)
            uow.commit()
        return self._view(t, policy, now)

    def _act_in(self, uow: UnitOfWork, t: Ticket, act: _Act, now: datetime) -> Policy:
        policy = self.policies.get(t.policy)
        events = act(t, policy, now)
        uow.tickets.append(t, *events)
        if self.listeners:
            stored = t.events[len(t.events) - len(events):]  # with their ids
            self._tell(uow, self._view(t, policy, now), stored)
        return policy
