"""The phone desk: what the bot does with calls, key presses, status callbacks and pages.

Entry points (the Twilio webhooks, the pager loop) call these; every change happens in one
transaction and is recorded in the ticket's event log (and told to the Helpdesk listeners, so
Slack posts it). Calls and SMS go out through the :class:`Telephony` port; an attempt is
recorded before it is placed, so a restart never places it twice (at most once: an attempt
lost in a crash counts as unanswered and the page moves on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from bot.alerts import Alert, AlertSink
from bot.clock import Clock
from bot.errors import InvalidAction, NotFound
from bot.model import Channel, Event, EventKind
from bot.model import reference_of as reference
from bot.phone.chase import chase_missing
from bot.phone.followup import call_covers, ticket_for_call, ticket_waiting_for
from bot.phone.model import Page, PhoneCall, Sms
from bot.phone.numbers import client_for_number, try_e164
from bot.phone.pages import start_page
from bot.phone.paging import Call, Exhausted, next_step, page_text, spell_reference
from bot.phone.ports import CallAnswer, PhonePolicy, Telephony, TelephonyError
from bot.phone.status import UNANSWERED, advance, is_final
from bot.ports import PhoneUnitOfWork
from bot.priority import Priority
from bot.services import Helpdesk, TicketView
from bot.ticket import Ticket
from bot.views import ACTIVE

log = logging.getLogger("supportbot.phone")


class PhoneDesk:
    def __init__(self, helpdesk: Helpdesk, uow: Callable[[], PhoneUnitOfWork], clock: Clock,
                 policy: PhonePolicy, telephony: Telephony | None = None,
                 sinks: Iterable[AlertSink] = ()) -> None:
        self.helpdesk = helpdesk
        self._uow = uow
        self.clock = clock
        self.policy = policy
        self.telephony = telephony
        self.sinks = sinks  # iterated at each alert: a live view sees sinks added later
        self.placed = {"call": 0, "sms": 0, "failed": 0}

    # -- the Helpdesk listener: start paging, link calls that came before the mail ----------

    def __call__(self, uow: PhoneUnitOfWork, view: TicketView, events: Sequence[Event]) -> None:
        t = view.ticket
        if t.id is None:
            return
        registered = any(e.kind == EventKind.REGISTERED for e in events)
        raised = any(e.kind == EventKind.PRIORITY_SET and e.data.get("priority") == "P1"
                     and e.data.get("previous") not in (None, "P1") for e in events)
        now = view.now
        if t.priority == Priority.P1 and (registered or raised) and t.status in ACTIVE:
            start_page(uow, t, self.policy.oncall.numbers_at(now),
                       "registered as P1" if registered else "raised to P1", now)
        if registered and t.phone_followup == "pending" and t.client_id is not None:
            for call in uow.phone.waiting_calls(t.client_id, now - self.policy.link_window):
                if call_covers(call.created_at, t.created_at, self.policy.link_window):
                    self._link_mail_to_call(uow, t, call, now)
                    break

    def _link_mail_to_call(self, uow: PhoneUnitOfWork, t: Ticket, call: PhoneCall,
                           now: datetime) -> None:
        """A P1 mailed after the client's call: confirmed by the next ``confirm_linked``.
        A message left on that call made a phone ticket: it is merged into the mail's
        ticket (one incident, one ticket), its voicemail recorded there too."""
        assert t.id is not None
        if call.link == "voicemail" and call.ticket_id is not None:
            phone_ticket = uow.tickets.get(call.ticket_id, for_update=True)
            if phone_ticket is not None:
                self._merge_voicemail(uow, phone_ticket, t, now)
        uow.phone.update_call(call.sid, link="confirming", ticket_id=t.id)

    def _merge_voicemail(self, uow: PhoneUnitOfWork, phone_ticket: Ticket, t: Ticket,
                         now: datetime) -> None:
        """Inside the listener telling of ``t``: what both tickets record now is told to
        every listener in the next round."""
        t.merge_in(phone_ticket, now=now,
                   reason="the client's phone message, before this P1 came by mail")
        if phone_ticket.active:
            phone_ticket.close(actor="phone", now=now, note=f"merged into {t.reference}, the "
                               "mailed report of this call", data={"merged_into": t.reference})
        else:
            phone_ticket.note(f"the mailed report of this call is {t.reference}",
                              actor="phone", now=now)

    def confirm_linked(self) -> int:
        """Confirm the follow-up of every ticket a call was linked to and not yet confirmed
        (``Helpdesk.confirm_phone_followup``: one transaction each). Returns how many."""
        with self._uow() as uow:
            pending = uow.phone.calls_linking()
        done = 0
        for call in pending:
            assert call.ticket_id is not None
            ref = reference(call.ticket_id)
            try:
                self.helpdesk.confirm_phone_followup(
                    ref, actor=f"phone:{call.from_number or 'unknown'}",
                    note=f"call {call.sid} from {call.from_number or 'a withheld number'} at "
                         f"{call.created_at.isoformat()}")
                done += 1
            except (InvalidAction, NotFound) as e:
                log.info("call not confirmed", extra={"call": call.sid, "reason": str(e)})
            with self._uow() as uow:
                uow.phone.update_call(call.sid, link="linked")
                self._commit(uow)
        return done

    # -- inbound calls ---------------------------------------------------------------------

    def inbound_call(self, sid: str, from_number: str, to_number: str) -> CallAnswer:
        """A client calls. Stored (committed) before the answer; a retried webhook for the
        same CallSid gets the same answer and changes nothing."""
        now = self.clock.now()
        caller = try_e164(from_number)
        with self._uow() as uow:
            known = uow.phone.call(sid)
            if known is None:
                client = client_for_number(uow.clients.list(), caller)
                ticket = answered = None
                if client is not None:
                    tickets = uow.tickets.list(client=client.name, statuses=ACTIVE)
                    ticket = ticket_for_call(tickets, client.id)
                    answered = None if ticket else ticket_waiting_for(tickets, client.id)
                if answered is not None and answered.id is not None:
                    locked = uow.tickets.get(answered.id, for_update=True)
                    assert locked is not None
                    return self._answer_by_phone(uow, locked, sid, caller, to_number, now)
                known = PhoneCall(sid=sid, direction="in", from_number=caller or "",
                                  to_number=to_number, created_at=now,
                                  ticket_id=ticket.id if ticket else None,
                                  client_id=client.id if client else None,
                                  link="confirming" if ticket else "waiting")
                uow.phone.add_call(known)
                self._commit(uow)
        if known.ticket_id is not None and known.link == "answered":
            return _answered(reference(known.ticket_id))
        if known.ticket_id is not None and known.link in ("confirming", "linked"):
            self.confirm_linked()
            ref = reference(known.ticket_id)
            return CallAnswer("linked", f"Thank you. Your call is recorded as the phone "
                                        f"follow-up of incident {spell_reference(ref)}.", ref)
        return CallAnswer("voicemail", "We found no open priority 1 incident for this number. "
                          "Please leave a message after the tone, and send your report by "
                          "mail: it will be linked to this call.")

    def _answer_by_phone(self, uow: PhoneUnitOfWork, t: Ticket, sid: str, caller: str | None,
                         to_number: str, now: datetime) -> CallAnswer:
        """The client calls while one of its tickets waits for their answer: the call is that
        answer (the ticket counts again, its people are told through the listeners)."""
        assert t.id is not None
        who = caller or "a withheld number"
        t.client_answered(actor=f"phone:{who}", now=now, channel="phone")
        t.note(f"the client called ({who}, call {sid}) while the ticket waited for their "
               "answer: call them back", actor="phone", now=now, call_sid=sid)
        uow.phone.add_call(PhoneCall(sid=sid, direction="in", from_number=caller or "",
                                     to_number=to_number, created_at=now, ticket_id=t.id,
                                     client_id=t.client_id, link="answered"))
        self._commit(uow)
        return _answered(t.reference)

    def recording(self, sid: str, url: str, duration: str = "") -> CallAnswer:
        """The caller's message: attached to a new phone-reported ticket that waits for its
        mail. Once per CallSid."""
        now = self.clock.now()
        with self._uow() as uow:
            call = uow.phone.call(sid, for_update=True)
            if call is None:
                return CallAnswer("unknown", "Sorry, this call is not known.")
            if call.link != "waiting":
                ref = reference(call.ticket_id) if call.ticket_id else None
                return CallAnswer("recorded", _recorded_text(ref), ref)
            client = uow.clients.get_by_id(call.client_id) if call.client_id else None
            caller = call.from_number or "a withheld number"
            view = self.helpdesk.register_in(
                uow, subject=f"Phone message from {caller}",
                body=f"A recorded phone message ({duration or '?'} s): {url}\n"
                     "Waiting for the report by mail.",
                client=client, channel=Channel.PHONE, requester=call.from_number or None,
                actor=f"phone:{caller}", details={"call_sid": sid}, at=now)
            t = view.ticket
            assert t.id is not None
            t.voicemail_recorded(actor=f"phone:{caller}", now=now, data={
                "call_sid": sid, "recording_url": url, "duration": duration,
                "from": call.from_number})
            uow.phone.update_call(sid, link="voicemail", ticket_id=t.id)
            self._commit(uow)
        return CallAnswer("recorded", _recorded_text(t.reference), t.reference)

    # -- paging ----------------------------------------------------------------------------

    def gather(self, sid: str, digits: str) -> CallAnswer:
        """A key pressed (or none) on a paging call. ``1`` takes the page: paging stops."""
        now = self.clock.now()
        with self._uow() as uow:
            call = uow.phone.call(sid)
            if call is None or call.page_id is None or call.ticket_id is None:
                return CallAnswer("unknown", "Sorry, this call is not known.")
            t = uow.tickets.get(call.ticket_id, for_update=True)
            page = uow.phone.page(call.page_id, for_update=True)
            assert t is not None and page is not None
            ref = t.reference
            if page.state == "taken":
                if page.taken_by == self._who(uow, call.to_number):
                    return CallAnswer("taken", f"{spell_reference(ref)} is yours.", ref)
                return CallAnswer("already-taken", f"{spell_reference(ref)} was already taken "
                                  f"by {page.taken_by}. Goodbye.", ref)
            if digits.strip() != "1" or page.state != "active":
                return CallAnswer("not-taken", "Nobody has taken it yet; we keep calling. "
                                  "Goodbye.", ref)
            who = self._who(uow, call.to_number)
            uow.phone.finish_page(page.id, "taken", now, taken_by=who)
            t.page_taken(by=who, now=now, data={
                "page": page.id, "number": call.to_number, "call_sid": sid,
                "attempt": (call.attempt or 0) + 1})
            if t.assignee is None and who != call.to_number and t.status in ACTIVE:
                # a staff member took it: theirs, as if they had assigned it to themselves
                t.assign(who, actor=who, now=now)
            self._commit(uow)
        return CallAnswer("taken", f"Thank you. {spell_reference(ref)} is yours.", ref)

    @staticmethod
    def _who(uow: PhoneUnitOfWork, number: str) -> str:
        """The staff member with ``number``, else the number itself."""
        return next((s.name for s in uow.staff.list() if s.phone and try_e164(s.phone) ==
                     number), number)

    def call_status(self, sid: str, status: str) -> bool:
        """A call status callback, applied monotonically. True if it changed anything."""
        now = self.clock.now()
        with self._uow() as uow:
            call = uow.phone.call(sid, for_update=True)
            if call is None:
                return False
            new = advance("call", call.status, status)
            if new is None:
                return False
            uow.phone.update_call(sid, status=new, status_at=now)
            if call.page_id is not None and call.ticket_id is not None and is_final("call", new):
                t = uow.tickets.get(call.ticket_id, for_update=True)
                page = uow.phone.page(call.page_id)
                assert t is not None and page is not None
                taken_here = page.state == "taken" and page.taken_by == self._who(
                    uow, call.to_number)
                outcome = new if new in UNANSWERED else (
                    "taken" if taken_here else "answered, not taken")
                t.paging(EventKind.PAGE_CALL_ENDED, now=now, data={
                    "page": page.id, "number": call.to_number, "call_sid": sid,
                    "attempt": (call.attempt or 0) + 1, "status": new, "outcome": outcome})
            self._commit(uow)
        return True

    def sms_status(self, sid: str, status: str) -> bool:
        """An SMS status callback, applied monotonically; a failed SMS goes in the log."""
        now = self.clock.now()
        with self._uow() as uow:
            sms = uow.phone.sms(sid, for_update=True)
            if sms is None:
                return False
            new = advance("sms", sms.status, status)
            if new is None:
                return False
            uow.phone.update_sms(sid, status=new, status_at=now)
            if new in ("failed", "undelivered") and sms.ticket_id is not None:
                t = uow.tickets.get(sms.ticket_id, for_update=True)
                assert t is not None
                t.note(f"paging SMS to {sms.to_number} {new}", actor="pager", now=now,
                       sms_sid=sid)
            self._commit(uow)
        return True

    def page_due(self) -> int:
        """Place every paging call that is due now. Returns how many calls were placed."""
        with self._uow() as uow:
            pages = uow.phone.active_pages()
        return sum(self._advance_page(p) for p in pages)

    def _advance_page(self, page: Page) -> int:
        now = self.clock.now()
        with self._uow() as uow:
            t = uow.tickets.get(page.ticket_id, for_update=True)
            current = uow.phone.page(page.id, for_update=True)
            if t is None or current is None or current.state != "active":
                return 0
            if t.status not in ACTIVE or t.priority != Priority.P1:
                uow.phone.finish_page(page.id, "stopped", now)
                t.note(f"paging stopped: the ticket is {t.status}, {t.priority}",
                       actor="pager", now=now)
                self._commit(uow)
                return 0
            step = next_step(page.numbers, uow.phone.attempts(page.id), self.policy.oncall,
                             now)
            if isinstance(step, Exhausted):
                uow.phone.finish_page(page.id, "exhausted", now)
                t.paging(EventKind.PAGE_EXHAUSTED, now=now, data={
                    "page": page.id, "attempts": step.attempts, "numbers": list(page.numbers)})
                self._commit(uow)
                self._deliver(Alert(
                    key=f"{t.reference}/page/{page.id}/exhausted", ticket_id=page.ticket_id,
                    reference=t.reference, client=t.client_name, priority=t.priority,
                    kind="page", text=f"{t.reference}: nobody on call took this P1 after "
                                      f"{step.attempts} calls.", at=now,
                    targets=("triage", "oncall")))
                return 0
            if not isinstance(step, Call) or self.telephony is None:
                return 0
            if not uow.phone.add_attempt(page.id, step.n, step.number, now):
                return 0
            self._commit(uow)  # recorded before it is placed: never placed twice
            view_text = page_text(t.reference, t.client_name, t.subject)
        call_sid, sms_sid, error = self._place(step, view_text, t.reference)
        with self._uow() as uow:
            t = uow.tickets.get(page.ticket_id, for_update=True)
            assert t is not None
            uow.phone.attempt_placed(page.id, step.n, call_sid, sms_sid, now)
            if call_sid:
                uow.phone.add_call(PhoneCall(
                    sid=call_sid, direction="out", from_number="", to_number=step.number,
                    created_at=now, ticket_id=t.id, page_id=page.id, attempt=step.n,
                    link="page"))
            if sms_sid:
                uow.phone.add_sms(Sms(sid=sms_sid, to_number=step.number, created_at=now,
                                      ticket_id=t.id, page_id=page.id))
            data: dict[str, object] = {
                "page": page.id, "number": step.number, "attempt": step.n + 1,
                "call_to_number": f"{step.attempt} of {step.of}", "call_sid": call_sid,
                "sms_sid": sms_sid}
            if error:
                data["error"] = error
            t.paging(EventKind.PAGE_ATTEMPT, now=now, data=data)
            self._commit(uow)
        return 1 if call_sid else 0

    def _place(self, step: Call, text: str, ref: str) -> tuple[str | None, str | None,
                                                                  str | None]:
        assert self.telephony is not None
        call_sid = sms_sid = None
        errors = []
        try:
            call_sid = self.telephony.page_call(step.number, text + " Press 1 to take it.")
            self.placed["call"] += 1
        except TelephonyError as e:
            errors.append(f"call: {e}")
        if self.policy.oncall.sms:
            try:
                sms_sid = self.telephony.sms(step.number, f"[{ref}] {text} Answer the call "
                                                          "and press 1 to take it.")
                self.placed["sms"] += 1
            except TelephonyError as e:
                errors.append(f"sms: {e}")
        if errors:
            self.placed["failed"] += 1
            log.warning("paging attempt failed", extra={"ticket": ref, "errors": errors})
        return call_sid, sms_sid, "; ".join(errors) or None

    # -- a missing follow-up ---------------------------------------------------------------

    def chase_missing(self) -> int:
        """Chase each P1 whose phone follow-up is late (once per follow-up): see
        :mod:`bot.phone.chase`."""
        return chase_missing(self._uow, self.clock, self.helpdesk, self.policy, self._deliver)

    def _deliver(self, alert: Alert) -> None:
        for sink in self.sinks:
            try:
                sink.deliver(alert)
            except Exception as e:  # a sink's outage must not stop the others
                log.warning("alert not delivered", extra={"sink": sink.name,
                                                          "alert": alert.key, "error": str(e)})

    def _commit(self, uow: PhoneUnitOfWork) -> None:
        """Tell the listeners what the tickets recorded (Slack posts it), then commit."""
        self.helpdesk.publish(uow)
        uow.commit()

    def tick(self) -> dict[str, int]:
        """One round of the pager loop."""
        return {"confirmed": self.confirm_linked(), "placed": self.page_due(),
                "chased": self.chase_missing()}


def _recorded_text(ref: str | None) -> str:
    if ref is None:
        return "Thank you. Your message was recorded."
    return (f"Thank you. Your message was recorded as {spell_reference(ref)}. Please send "
            "your report by mail.")


def _answered(ref: str) -> CallAnswer:
    return CallAnswer("answered", f"Thank you. We note your call as your answer about incident "
                      f"{spell_reference(ref)}; the person handling it will call you back.", ref)
