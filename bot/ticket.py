"""The ticket aggregate: every change to a ticket is a method here that checks the rules,
changes the state and records the event that says so.

Nothing else writes a ticket's status, priority or assignee, or adds to its log: they are
read-only outside this class. Recorded events wait in the ticket until the repository saves
them (``mark_saved`` gives them their ids); the unit of work then collects the saved, untold
events (``take_news``) and the listeners are told of them once (:mod:`bot.listeners`).
Every method takes the instant (``now``) from its caller, who has the injected clock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import ticket_state as state
from bot.errors import InvalidAction
from bot.model import Channel, Client, Event, EventKind, TicketStatus, reference_of
from bot.priority import Priority
from bot.ticket_channels import ChannelEvents

if TYPE_CHECKING:  # the listing reads tickets without loading the classifier
    from bot.classify import Classification

"""A client's rating may be changed for a week after they first gave it."""


class Ticket(ChannelEvents):
    """An incident (or request) of one client. Clocks derive from ``events``; never stored."""

    def __init__(self, *, client_id: int | None, client_name: str, policy: str, subject: str,
                 priority: Priority, channel: Channel, status: TicketStatus,
                 created_at: datetime, requester: str | None = None, body: str = "",
                 kind: str = "incident", assignee: str | None = None, id: int | None = None,
                 events: Sequence[Event] = ()) -> None:
        """A ticket as it is stored (``events``: its saved log, oldest first). A new ticket
        is made by :meth:`register`."""
        self.client_id = client_id
        self.client_name = client_name
        self.policy = policy
        self.subject = subject
        self.channel = channel
        self.created_at = created_at
        self.requester = requester
        self.body = body
        self.kind = kind
        self.id = id  # set once, by the repository that stores the ticket
        self._priority = priority
        self._status = status
        self._assignee = assignee
        self._log: list[Event] = list(events)
        self._pending: list[Event] = []  # recorded, not saved yet
        self._news: list[Event] = []  # saved, listeners not told yet

    # -- reading ---------------------------------------------------------------------------

    @property
    def priority(self) -> Priority:
        return self._priority

    @property
    def status(self) -> TicketStatus:
        return self._status

    @property
    def assignee(self) -> str | None:
        return self._assignee

    @property
    def events(self) -> tuple[Event, ...]:
        """The whole log, oldest first: saved events, then those recorded since."""
        return (*self._log, *self._pending)

    @property
    def reference(self) -> str:
        return reference_of(self.id) if self.id is not None else "T-?"

    @property
    def active(self) -> bool:
        return self._status in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PAUSED)

    @property
    def phone_followup(self) -> str | None:
        """The P1 phone follow-up step (``bot.ticket_state.phone_followup``)."""
        return state.phone_followup(self.events)

    @property
    def waiting_since(self) -> Event | None:
        """The ``waiting_for_client`` event while the ticket waits for the client, else None."""
        return state.waiting_since(self._status, self.events)

    @property
    def nudged(self) -> bool:  # the client was nudged in the current wait
        return state.nudged(self._status, self.events)

    def time_logged_hours(self) -> float:
        return sum(float(e.data.get("hours", 0)) for e in self.events
                   if e.kind == EventKind.TIME_LOGGED)

    def last(self, kind: EventKind) -> Event | None:
        return next((e for e in reversed(self.events) if e.kind == kind), None)

    def __repr__(self) -> str:
        return (f"Ticket({self.reference}, {self._priority}, {self._status}, "
                f"{len(self._log) + len(self._pending)} events)")

    # -- for the repository and the unit of work ---------------------------------------------

    @property
    def pending(self) -> tuple[Event, ...]:
        """Events recorded and not saved yet."""
        return tuple(self._pending)

    def mark_saved(self, stored: Sequence[Event]) -> None:
        """The repository saved the pending events: ``stored`` are their copies with ids,
        in order. They join the log, and the news the listeners are to hear."""
        if len(stored) != len(self._pending):
            raise ValueError(f"{self.reference}: {len(stored)} saved of "
                             f"{len(self._pending)} pending events")
        self._log.extend(stored)
        self._news.extend(stored)
        self._pending.clear()

    def take_news(self) -> list[Event]:
        """The saved events the listeners have not heard yet; from now on they have."""
        news, self._news = self._news, []
        return news

    # -- registering -----------------------------------------------------------------------

    @classmethod
    def register(cls, *, client: Client | None, policy: str, subject: str, body: str,
                 channel: Channel, requester: str | None, found: Classification,
                 phone_followup: Collection[Priority], now: datetime,
                 priority: Priority | None = None, actor: str = "system", reason: str = "",
                 kind: str = "incident", details: Mapping[str, Any] | None = None) -> Ticket:
        """A new ticket at ``found``'s priority, or at ``priority`` when staff decided (the
        classification is recorded either way, so the reasons stay readable)."""
        t = cls(client_id=client.id if client else None, client_name=client.name if client
                else "", policy=policy, subject=subject.strip() or "(no subject)", body=body,
                priority=priority or found.priority, channel=channel,
                status=TicketStatus.NEW, created_at=now, requester=requester, kind=kind)
        t._record(EventKind.REGISTERED, now, actor, {"channel": channel.value,
                                                      **(details or {})})
        t._record(EventKind.PRIORITY_SET, now, "classifier", {
            "priority": found.priority.value, "confidence": round(found.confidence, 2),
            "reasons": [r.text for r in found.reasons], "rules": [r.rule for r in found.reasons]})
        if priority is not None:  # staff decided: audited even when it agrees
            t._record(EventKind.PRIORITY_SET, now, actor, {
                "priority": priority.value, "previous": found.priority.value,
                "reason": reason or "set at registration"})
        if t._priority in phone_followup:
            t._record(EventKind.PHONE_FOLLOWUP_REQUIRED, now, "system", {
                "reason": f"{t._priority} must be followed up by a phone call"})
        return t

    # -- staff actions ---------------------------------------------------------------------

    def set_priority(self, priority: Priority, *, actor: str, reason: str, now: datetime,
                     phone_followup: Collection[Priority]) -> None:
        """Change the priority, with a reason for the audit trail; a change into or out of
        ``phone_followup`` requires or waives the P1 phone call."""
        _needs(reason, "a priority change needs a reason (it goes in the audit trail)")
        self._not_closed()
        if self._priority == priority:
            raise InvalidAction(f"{self.reference} is already {priority}")
        self._record(EventKind.PRIORITY_SET, now, actor, {
            "priority": priority.value, "previous": self._priority.value, "reason": reason})
        self._priority = priority
        self._phone_for(priority, now, phone_followup)

    def reclassify(self, found: Classification, *, now: datetime,
                   phone_followup: Collection[Priority]) -> bool:
        """The classifier read more of the report (messages that joined it): its priority for
        the whole text, unless staff have set one. True if the priority changed."""
        last = self.last(EventKind.PRIORITY_SET)
        if (last is None or last.actor != "classifier" or found.priority == self._priority
                or self._status == TicketStatus.CLOSED):
            return False
        self._record(EventKind.PRIORITY_SET, now, "classifier", {
            "priority": found.priority.value, "previous": self._priority.value,
            "confidence": round(found.confidence, 2), "reasons": [r.text for r in found.reasons],
            "rules": [r.rule for r in found.reasons],
            "reason": "classified again with the messages that joined the report"})
        self._priority = found.priority
        self._phone_for(found.priority, now, phone_followup)
        return True

    def _phone_for(self, priority: Priority, now: datetime,
                   phone_followup: Collection[Priority]) -> None:
        followup = self.phone_followup
        if priority in phone_followup and followup in (None, "waived"):
            self._record(EventKind.PHONE_FOLLOWUP_REQUIRED, now, "system", {
                "reason": f"raised to {priority}: must be followed up by a phone call"})
        elif priority not in phone_followup and followup == "pending":
            self._record(EventKind.PHONE_FOLLOWUP_WAIVED, now, "system", {
                "reason": f"lowered to {priority}: no phone follow-up needed"})

    def respond(self, *, actor: str, now: datetime, message: str = "") -> None:
        """A response to the client (the first one stops the response clock)."""
        self._not_closed()
        if self._status == TicketStatus.NEW:
            self._status = TicketStatus.OPEN
        self._record(EventKind.RESPONDED, now, actor, {"message": message} if message else {})

    def confirm_cause(self, *, actor: str, now: datetime, note: str = "") -> None:
        """Both sides agree the cause is the software: the resolution clock starts."""
        self._not_closed()
        done = self.last(EventKind.CAUSE_CONFIRMED)
        if done is not None:
            raise InvalidAction(f"{self.reference}: cause already confirmed "
                                f"{done.at:%Y-%m-%d %H:%M} UTC by {done.actor}")
        if self._status == TicketStatus.RESOLVED:
            raise InvalidAction(f"{self.reference} is resolved; reopen it first")
        self._record(EventKind.CAUSE_CONFIRMED, now, actor, {"note": note} if note else {})

    def pause(self, *, actor: str, reason: str, now: datetime) -> None:
        _needs(reason, "pausing needs a reason (e.g. 'waiting for the client's logs')")
        if self._status not in (TicketStatus.NEW, TicketStatus.OPEN):
            raise InvalidAction(f"{self.reference} is {self._status}; only new or open "
                                "tickets pause")
        self._status = TicketStatus.PAUSED
        self._record(EventKind.PAUSED, now, actor, {"reason": reason})

    def resume(self, *, actor: str, now: datetime, note: str = "") -> None:
        if self._status != TicketStatus.PAUSED:
            raise InvalidAction(f"{self.reference} is {self._status}, not paused")
        if self.waiting_since is not None:
            self._end_waiting(actor, now, {"by": "staff", **({"note": note} if note else {})})
            return
        self._status = TicketStatus.OPEN if self.last(EventKind.RESPONDED) else TicketStatus.NEW
        self._record(EventKind.RESUMED, now, actor, {"note": note} if note else {})

    def wait_for_client(self, *, actor: str, now: datetime, reason: str = "") -> None:
        """Staff asked the client something: the ticket waits for the answer, and the clocks
        the policy names (``[waiting] pauses``) stop counting until it comes (or staff resume)."""
        if self._status not in (TicketStatus.NEW, TicketStatus.OPEN):
            raise InvalidAction(f"{self.reference} is already waiting for the client" if
                                self.waiting_since else f"{self.reference} is {self._status}; "
                                "only new or open tickets wait for the client")
        self._status = TicketStatus.PAUSED
        self._record(EventKind.WAITING_FOR_CLIENT, now, actor,
                     {"reason": reason.strip() or "waiting for the client's answer"})

    def client_answered(self, *, actor: str, now: datetime, channel: str) -> bool:
        """The client wrote or called (email, slack, phone): True if the ticket waited."""
        if self.waiting_since is None:
            return False
        self._end_waiting(actor, now, {"by": "client", "channel": channel})
        return True

    def nudge_client(self, *, now: datetime, resolves_at: datetime | None) -> None:
        """No answer at half of the policy's wait: the client is reminded, once a wait."""
        since = self.waiting_since
        if since is None:
            raise InvalidAction(f"{self.reference} is not waiting for the client")
        if self.nudged:
            raise InvalidAction(f"{self.reference}: the client was nudged already")
        self._record(EventKind.CLIENT_NUDGED, now, "system", {
            "waiting_since": since.at.isoformat(),
            **({"resolves_at": resolves_at.isoformat()} if resolves_at else {})})

    def resolve_unanswered(self, *, now: datetime, waited: str) -> None:
        """No answer within the policy's wait (``waited``, ``6wd``): resolved by itself."""
        since = self.waiting_since
        if since is None:
            raise InvalidAction(f"{self.reference} is not waiting for the client")
        self._resolve("system", now, {"note": f"no answer from the client within {waited}",
                                      "unanswered": True, "waiting_since": since.at.isoformat()})

    def resolve(self, *, actor: str, now: datetime, note: str = "") -> None:
        """A fix or answer was delivered. Never answered before, the resolution is the first
        response too (the client is told of it), so the response clock stops with it rather
        than run on, breached for ever, on a resolved ticket."""
        self._resolve(actor, now, {"note": note} if note else {})

    def _resolve(self, actor: str, now: datetime, data: dict[str, Any]) -> None:
        if self._status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise InvalidAction(f"{self.reference} is already {self._status}")
        if self.last(EventKind.RESPONDED) is None:
            self._record(EventKind.RESPONDED, now, actor, {"with": "the resolution"})
        self._status = TicketStatus.RESOLVED
        self._record(EventKind.RESOLVED, now, actor, data)

    def reopen(self, *, actor: str, reason: str, now: datetime) -> None:
        _needs(reason, "reopening needs a reason")
        if self._status != TicketStatus.RESOLVED:
            raise InvalidAction(f"{self.reference} is {self._status}; only resolved tickets "
                                "reopen")
        self._status = TicketStatus.OPEN
        self._record(EventKind.REOPENED, now, actor, {"reason": reason})

    def close(self, *, actor: str, now: datetime, note: str = "",
              data: Mapping[str, Any] | None = None) -> None:
        """Final. ``data`` goes into the ``closed`` event (``merged_into``, say)."""
        self._not_closed()
        self._status = TicketStatus.CLOSED
        self._record(EventKind.CLOSED, now, actor,
                     {**({"note": note} if note else {}), **(data or {})})

    def assign(self, assignee: str, *, actor: str, now: datetime) -> None:
        self._not_closed()
        previous, self._assignee = self._assignee, assignee
        self._record(EventKind.ASSIGNED, now, actor, {"assignee": assignee,
                                                      "previous": previous})

    def log_time(self, hours: float, *, actor: str, now: datetime, note: str = "") -> None:
        """Time spent, for the per-priority hours of the reports (at the current priority)."""
        if not 0 < hours <= 24:
            raise InvalidAction(f"hours must be more than 0 and at most 24 at a time "
                                f"(got {hours})")
        data: dict[str, Any] = {"hours": hours, "priority": self._priority.value}
        if note:
            data["note"] = note
        self._record(EventKind.TIME_LOGGED, now, actor, data)

    def note(self, text: str, *, actor: str, now: datetime, **data: Any) -> None:
        """An internal note (never shown to the client)."""
        _needs(text, "an empty note says nothing")
        self._record(EventKind.NOTE, now, actor, {"text": text, **data})

    def imported(self, source: str, *, actor: str, now: datetime) -> None:
        """The ticket came from a mailbox's history (``supportbot import``), at ``now``: its
        registration is dated as the mail was, and its clocks due before ``now`` are history."""
        self._record(EventKind.IMPORTED, now, actor, {"source": source})

    def correct_outage(self, data: Mapping[str, Any], *, actor: str, now: datetime) -> None:
        """The outage interval the availability counts (see ``availability.correction_data``);
        the last correction wins."""
        self._record(EventKind.OUTAGE_CORRECTED, now, actor, dict(data))

    def confirm_phone_followup(self, *, actor: str, now: datetime, note: str = "") -> None:
        if self.phone_followup == "confirmed":
            raise InvalidAction(f"{self.reference}: phone follow-up already confirmed")
        if self.phone_followup is None:
            raise InvalidAction(f"{self.reference} is {self._priority}: no phone follow-up "
                                "needed")
        self._record(EventKind.PHONE_FOLLOWUP_CONFIRMED, now, actor,
                     {"note": note} if note else {})

    # -- what the client and the channels do -----------------------------------------------

    def receive_message(self, *, actor: str, now: datetime, data: Mapping[str, Any]) -> None:
        """A message from the client in the ticket's thread (mail, Slack, ...)."""
        self._record(EventKind.MESSAGE_RECEIVED, now, actor, dict(data))

    def resolved_for(self, now: datetime) -> timedelta | None:
        """How long the ticket has been resolved at ``now``; None when it is not resolved."""
        return state.resolved_for(self._status, self.events, now)

    def reopen_by_client(self, *, actor: str, now: datetime, within: timedelta) -> bool:
        """The client wrote after resolution: reopened when within ``within`` of it. True if
        it reopened."""
        since = self.resolved_for(now)
        if since is None or since > within:
            return False
        self._status = TicketStatus.OPEN
        self._record(EventKind.REOPENED, now, actor,
                     {"reason": "the client replied after resolution"})
        return True

    # -- internals -------------------------------------------------------------------------

    def _end_waiting(self, actor: str, now: datetime, data: dict[str, Any]) -> None:
        self._status = TicketStatus.OPEN if self.last(EventKind.RESPONDED) else TicketStatus.NEW
        self._record(EventKind.WAITING_ENDED, now, actor, data)

    def _record(self, kind: EventKind, at: datetime, actor: str, data: dict[str, Any]) -> None:
        if at.tzinfo is None:
            raise ValueError("event instants must be aware")
        self._pending.append(Event(kind, at, actor, data, self.id))

    def _not_closed(self) -> None:
        if self._status == TicketStatus.CLOSED:
            raise InvalidAction(f"{self.reference} is closed")


def _needs(text: str, why: str) -> None:
    if not text.strip():
        raise InvalidAction(why)
