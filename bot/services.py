"""The service layer: every ticket action, in one transaction each, with its events.
Entry points (CLI, mail, Slack, phone) call these and nothing else to change a ticket, so the rules
about what may happen when live in one place. Time comes from the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.availability import correction_data
from bot.change_requests import CHANGE_REQUEST, ticket_clocks
from bot.classify import Classification, Report, classify
from bot.classify.change_request import change_request_reason
from bot.clock import Clock
from bot.errors import NotFound
from bot.listeners import Listener, publish
from bot.model import (
    Channel,
    Client,
    EventKind,
    Staff,
    TicketStatus,
    id_of_reference,
    reference_of,
)
from bot.policies import PolicyBook
from bot.ports import UnitOfWork
from bot.priority import Priority
from bot.sla.policy import Policy
from bot.ticket import Ticket
from bot.views import TicketView, list_limit, select
from bot.waiting import NUDGE, RESOLVE, due_step, ticket_wait_plan

_Act = Callable[[Ticket, Policy, datetime], None]
"""A staff action: one of the ticket's methods, called with its policy and the instant."""


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
            self.publish(uow)
            uow.commit()
        return view

    def register_in(self, uow: UnitOfWork, *, subject: str, body: str, client: Client | None,
                    channel: Channel, requester: str | None = None,
                    headers: Mapping[str, str] | None = None,
                    priority: Priority | None = None, actor: str = "system", reason: str = "",
                    kind: str = "incident", details: Mapping[str, Any] | None = None,
                    at: datetime | None = None) -> TicketView:
        """``register`` inside the caller's transaction (the caller publishes and commits).
        ``details`` go into the ``registered`` event (the message's id and attachments, say);
        ``at``: the instant the caller works at (default now), so what it records after the
        registration is not logged before it."""
        now = at or self.clock.now()
        c = client
        policy = self.policies.get(c.policy if c else None)
        found = self.classify(subject, body, headers, c)
        if kind == "incident" and (why := change_request_reason(subject, body)) is not None:
            kind, details = CHANGE_REQUEST, {**(details or {}), "kind_reason": why.text}
        ticket = Ticket.register(
            client=c, policy=policy.name, subject=subject, body=body, channel=channel,
            requester=requester, found=found, phone_followup=policy.phone_followup, now=now,
            priority=priority, actor=actor, reason=reason, kind=kind, details=details)
        uow.tickets.add(ticket)
        return self._view(ticket, policy, now)

    def join_in(self, uow: UnitOfWork, t: Ticket, *, text: str, actor: str,
                data: Mapping[str, Any], at: datetime) -> TicketView | None:
        """A later message of the same report (one person's Slack messages sent close
        together), inside the caller's transaction: kept on the ticket as a message, and the
        whole text classified again (``Ticket.reclassify``). The ticket's view when that
        changed its priority, else None."""
        t.receive_message(actor=actor, now=at, data={**data, "text": text, "joined": True})
        joined = [str(e.data.get("text", "")) for e in t.events
                  if e.kind == EventKind.MESSAGE_RECEIVED and e.data.get("joined")]
        client = uow.clients.get_by_id(t.client_id) if t.client_id is not None else None
        policy = self.policies.get(t.policy)
        found = self.classify(t.subject, "\n".join([t.body, *joined]), None, client)
        if not t.reclassify(found, now=at, phone_followup=policy.phone_followup):
            return None
        return self._view(t, policy, at)

    def publish(self, uow: UnitOfWork) -> None:
        """Save what the unit of work's tickets recorded and tell the listeners of it, inside
        the caller's transaction (before it commits): every entry point that changes a
        ticket calls this once before its commit."""
        if not self.listeners:
            uow.tickets.collect_new_events()
            return
        now = self.clock.now()
        publish(uow, self.listeners, lambda t: self._view(t, self.policies.get(t.policy), now))

    # -- staff actions ----------------------------------------------------------------------

    def set_priority(self, ref: str, priority: Priority, *, actor: str, reason: str) -> TicketView:
        return self._act(ref, lambda t, policy, now: t.set_priority(
            priority, actor=actor, reason=reason, now=now, phone_followup=policy.phone_followup))

    def respond(self, ref: str, *, actor: str, message: str = "",
                as_question: bool = False) -> TicketView:
        """Record a response to the client (the first one stops the response clock); sent
        ``as_question``, the ticket then waits for the client's answer."""
        def act(t: Ticket, p: Policy, now: datetime) -> None:
            t.respond(actor=actor, now=now, message=message)
            if as_question:
                t.wait_for_client(actor=actor, now=now, reason="a question to the client")
        return self._act(ref, act)

    def wait_for_client(self, ref: str, *, actor: str, reason: str = "") -> TicketView:
        """The ticket waits for the client's answer: the clocks the policy's ``[waiting]``
        names pause until the client writes or calls (or staff resume it)."""
        return self._act(ref, lambda t, p, now: t.wait_for_client(actor=actor, now=now,
                                                                  reason=reason))

    def tend_waiting(self) -> list[tuple[str, str]]:
        """Nudge the clients whose tickets have waited half the policy's time, and resolve
        those that waited all of it; ``(reference, step)`` for each. Safe to run from two
        processes at once: each ticket is re-read locked and its log says what was done."""
        now = self.clock.now()
        with self._uow() as uow:
            due = [t.reference for t in uow.tickets.list(statuses=[TicketStatus.PAUSED],
                                                         limit=1_000_000)
                   if due_step(self.policies.get(t.policy), t, now) is not None]
        done = []
        for ref in due:
            with self._uow() as uow:
                t = self._get(uow, ref, for_update=True)
                policy = self.policies.get(t.policy)
                step = due_step(policy, t, now)
                if step == RESOLVE:
                    t.resolve_unanswered(now=now, waited=str(policy.waiting.after))
                elif step == NUDGE:
                    plan = ticket_wait_plan(policy, t)
                    t.nudge_client(now=now, resolves_at=plan.resolve_at if plan else None)
                else:
                    continue  # another process did it, or the client answered meanwhile
                self.publish(uow)
                uow.commit()
            done.append((ref, step))
        return done

    def confirm_cause(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        """Both sides agree the cause is the software: the resolution clock starts."""
        return self._act(ref, lambda t, p, now: t.confirm_cause(actor=actor, now=now, note=note))

    def pause(self, ref: str, *, actor: str, reason: str) -> TicketView:
        return self._act(ref, lambda t, p, now: t.pause(actor=actor, reason=reason, now=now))

    def resume(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        return self._act(ref, lambda t, p, now: t.resume(actor=actor, now=now, note=note))

    def resolve(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        return self._act(ref, lambda t, p, now: t.resolve(actor=actor, now=now, note=note))

    def reopen(self, ref: str, *, actor: str, reason: str) -> TicketView:
        return self._act(ref, lambda t, p, now: t.reopen(actor=actor, reason=reason, now=now))

    def close(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        return self._act(ref, lambda t, p, now: t.close(actor=actor, now=now, note=note))

    def log_time(self, ref: str, hours: float, *, actor: str, note: str = "") -> TicketView:
        """Record time spent, for the per-priority hours of the reports."""
        return self._act(ref, lambda t, p, now: t.log_time(hours, actor=actor, now=now,
                                                           note=note))

    def correct_outage(self, ref: str, *, start: datetime | None, end: datetime | None,
                       none: bool = False, reason: str, actor: str) -> TicketView:
        """Set the outage interval the availability counts for this ticket (or none at all),
        instead of registration to resolution; recorded as an event, the last one wins."""
        data = correction_data(start, end, none=none, reason=reason)
        return self._act(ref, lambda t, p, now: t.correct_outage(data, actor=actor, now=now))

    def note(self, ref: str, text: str, *, actor: str, **data: Any) -> TicketView:
        """An internal note; ``data`` goes into its event (``tracker``: a tracker's)."""
        return self._act(ref, lambda t, p, now: t.note(text, actor=actor, now=now, **data))

    def assign(self, ref: str, assignee: str, *, actor: str) -> TicketView:
        return self._act(ref, lambda t, p, now: t.assign(assignee, actor=actor, now=now))

    def confirm_phone_followup(self, ref: str, *, actor: str, note: str = "") -> TicketView:
        return self._act(ref, lambda t, p, now: t.confirm_phone_followup(actor=actor, now=now,
                                                                         note=note))

    def rate(self, ticket_id: int, score: int, *, actor: str, channel: str) -> bool:
        """The client's rating of the resolution (a signed link or a Slack button: the
        caller checked who may rate). False: the same score again, nothing recorded."""
        ref = reference_of(ticket_id)
        changed: list[bool] = []
        self._act(ref, lambda t, p, now: changed.append(
            t.rate(score, actor=actor, now=now, channel=channel)))
        return changed[0]

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
                                       limit=list_limit(limit, at_risk=at_risk, assignee=assignee))
        views = [self._view(t, self.policies.get(t.policy), now) for t in tickets]
        return select(views, at_risk=at_risk, assignee=assignee, limit=limit, now=now)

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

    def _act(self, ref: str, act: _Act) -> TicketView:
        """Load the ticket (locked), call ``act``, publish, commit."""
        now = self.clock.now()
        with self._uow() as uow:
            t = self._get(uow, ref, for_update=True)
            policy = self.policies.get(t.policy)
            act(t, policy, now)
            self.publish(uow)
            uow.commit()
        return self._view(t, policy, now)
