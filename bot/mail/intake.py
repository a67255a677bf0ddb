"""From an accepted raw message to a ticket: parse, deduplicate, screen robots, thread, register,
acknowledge. A backlog is taken several messages per transaction: each is parsed before the
transaction (ahead, by a parser process, when there is one), the batch's lookups are read ahead
together and its writes held back and sent together (``uow.write_behind``); a message that fails
is undone and counted (and after a few tries quarantined) alone while the others commit. A crash
anywhere leaves messages pending and a retry reaches the same outcome; the acknowledgement's
deterministic Message-ID makes it sent once.

Outcomes: ``done`` (a ticket or a follow-up), ``duplicate`` (the same message came in before,
by any intake), ``ignored`` (automatic mail recorded where it belongs, mail from the bot itself,
or a refused unknown sender) and ``quarantined`` (cannot be parsed; kept raw with the reason).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.errors import BatchAborted
from bot.mail import compose
from bot.mail.model import AutoReply
from bot.mail.parse import Limits, ParsedMail, Unparseable, parse_message
from bot.mail.quotes import strip_quoted
from bot.mail.threading import reference_tokens, thread_keys
from bot.model import (
    Channel,
    Client,
    Event,
    EventKind,
    InboundItem,
    Message,
    OutboundMail,
    Ticket,
    TicketStatus,
    id_of_reference,
    reference_of,
)
from bot.ports import BatchUnitOfWork, UnitOfWork
from bot.services import Helpdesk

log = logging.getLogger("supportbot.intake")

MAX_ATTEMPTS = 3
BATCH_SIZE = 50  # messages per transaction when working through a backlog
PARSE_AHEAD_CHUNK = 10  # messages per task handed to the parser
MIN_BEFORE_YIELD = 8
"""Messages a batch processes before it gives way to a waiting writer: fewer, and the batch's
fixed cost (its reads ahead, its sends, its commit) is paid for too little work to keep up."""
FOLLOWUP_TEXT_LIMIT = 20_000
_GONE = object()  # a batch's row that was not found when read again


@dataclass(frozen=True)
class MailPolicy:
    """How mail is handled (from the ``[mail]`` settings)."""

    own_addresses: frozenset[str]
    sender: str
    unknown_senders: str = "accept"  # or "reject"
    phone_number: str | None = None
    ack_limit_per_hour: int = 5
    reopen_within: timedelta = timedelta(days=7)
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Outcome:
    inbound_id: int
    state: str  # done, duplicate, ignored, quarantined, pending (retry later)
    action: str  # what happened, in a few words
    reference: str | None = None


def content_key(p: ParsedMail) -> str:
    """What makes two copies one message: the same mail arriving by SMTP and by IMAP differs
    in trace headers (Received, Delivered-To), not in these."""
    h = hashlib.sha256()
    for part in (p.from_addr or "", p.subject, p.date.isoformat() if p.date else "", p.text,
                 *(a.sha256 for a in p.attachments)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


Parsed = ParsedMail | Unparseable


def parse_all(raws: Sequence[bytes], limits: Limits) -> list[Parsed]:
    """Parse each message; what cannot be parsed comes back as its ``Unparseable``. A
    module-level function so that a process pool can run it."""
    return [_parse(raw, limits) for raw in raws]


class Parser(Protocol):
    """Parses messages ahead of processing, elsewhere (``adapters/mail/parsepool.py``)."""

    def submit(self, raws: list[bytes], limits: Limits) -> Callable[[], list[Parsed] | None]:
        """Start parsing; the returned call gives the results, or None when the caller had
        better parse them itself (the parser has not begun, or failed)."""
        ...


class ReplyHandler(Protocol):
    """Something a client's contact may answer by mail that is not a ticket: a report sent
    for approval, a policy change (``bot/reports/approval.py``, ``bot/policy_changes.py``)."""

    def answer_by_mail(self, uow: Any, thread: tuple[str, ...], text: str, sender: str,
                       client: Client) -> str | None:
        """Inside the intake's transaction: what was done, or None when the mail answers
        nothing of this handler's (it is then an ordinary mail)."""
        ...

    def preload(self, uow: Any, thread_keys: Collection[str]) -> None:
        """Hint: a batch's mails will be asked about with these Message-IDs; read what
        answering needs of them in one go."""
        ...


class MailIntake:
    """Processes accepted mail into tickets."""

    def __init__(self, helpdesk: Helpdesk, uow: Callable[[], BatchUnitOfWork], clock: Clock,
                 policy: MailPolicy, *, batch_size: int = BATCH_SIZE,
                 replies: Sequence[ReplyHandler] = (), parser: Parser | None = None) -> None:
        self.helpdesk = helpdesk
        self.parser = parser
        """Parses the batches after the first of a backlog while this thread processes (None:
        this thread parses everything)."""
        self.replies = tuple(replies)
        self._uow = uow
        self.clock = clock
        self.policy = policy
        self.batch_size = max(1, batch_size)
        self.yield_to: Callable[[], bool] | None = None
        """Asked between the messages of a batch: True when another writer is waiting for
        this one's transaction (SQLite has one write lock; the SMTP intake's commit, which its
        clients wait on, must not wait for a whole batch). The batch then commits what it did
        and leaves the rest pending, for the next batch."""
        self.batches_cut_short = 0
        self.batches_redone = 0  # failed as a whole (storage refused a write): item by item

    def process_pending(self, limit: int = 100, *, retry_failed: bool = True) -> list[Outcome]:
        """Process up to ``limit`` pending messages, oldest first, ``batch_size`` per
        transaction; with ``retry_failed=False``, leave those that failed before (for the
        next sweep) rather than spend their attempts at the pace new mail arrives."""
        with self._uow() as uow:
            items = [i for i in uow.inbound.pending(limit if retry_failed else 2 * limit)
                     if retry_failed or not i.attempts][:limit]
        ahead = self._parse_ahead(items)
        out: list[Outcome] = []
        k = 0
        while k < len(items):  # a batch cut short: the next one starts where it stopped
            batch = items[k:k + self.batch_size]
            done = self.process_batch(batch, parsed=[ahead(item.id) for item in batch])
            out += done
            k += max(len(done), 1)
        return out

    def _parse_ahead(self, items: Sequence[InboundItem]) -> Callable[[int], Parsed | None]:
        """With a parser and more than one batch: hand it every message but the first few
        (which this thread parses at once), in small chunks, so parsing overlaps processing.
        Returns the lookup of a message's parse by inbound id (None: parse it here)."""
        size = PARSE_AHEAD_CHUNK
        if self.parser is None or len(items) <= self.batch_size:
            return lambda _id: None
        chunks: dict[int, tuple[int, int]] = {}  # inbound id -> (chunk, index in it)
        calls: list[Callable[[], list[Parsed] | None]] = []
        for c, start in enumerate(range(size, len(items), size)):
            chunk = items[start:start + size]
            calls.append(self.parser.submit([i.raw for i in chunk], self.policy.limits))
            chunks.update({item.id: (c, n) for n, item in enumerate(chunk)})
        results: dict[int, list[Parsed] | None] = {}

        def lookup(inbound_id: int) -> Parsed | None:
            where = chunks.get(inbound_id)
            if where is None:
                return None
            c, n = where
            if c not in results:
                results[c] = calls[c]()
            got = results[c]
            return got[n] if got is not None else None

        return lookup

    def process_batch(self, items: Sequence[InboundItem],
                      parsed: Sequence[Parsed | None] | None = None) -> list[Outcome]:
        """Process these messages in one transaction, each in a savepoint of its own.

        Parsing happens first, outside the transaction; inside it each message's state is read
        again (another process may have taken it meanwhile), and what the messages will look
        up (stored copies, threads, recent acknowledgements) is read for all of them at once.
        Writes are held back and sent one statement per table (``uow.write_behind``), so a
        message that fails is undone alone. When ``yield_to`` says another writer waits, the
        batch stops early: fewer outcomes than items, the rest still pending. If the batch as
        a whole fails (storage down, or refusing a write it cannot pin on one message), each
        message is tried alone in a transaction of its own, so failures are counted.
        """
        ready = parsed if parsed is not None else [None] * len(items)
        mails = [(item, p if p is not None else _parse(item.raw, self.policy.limits))
                 for item, p in zip(items, ready, strict=True)]
        keys = {item.id: content_key(m) for item, m in mails if isinstance(m, ParsedMail)}
        outcomes: list[Outcome] = []
        try:
            with self._uow() as uow:
                # read (and lock) the batch's rows again in one statement, in id order; the
                # bytes are those read before (a message's raw bytes never change)
                again = uow.inbound.get_many([item.id for item in items], for_update=True,
                                             raw=False)
                current = {item.id: replace(again[item.id], raw=item.raw)
                           for item in items if item.id in again}
                with uow.write_behind(), self.helpdesk.policies.steady():
                    self._preload(uow, [(m, keys[i.id]) for i, m in mails
                                        if isinstance(m, ParsedMail)])
                    for n, (item, mail) in enumerate(mails):
                        if (n >= MIN_BEFORE_YIELD and self.yield_to is not None
                                and self.yield_to()):
                            self.batches_cut_short += 1
                            break
                        try:
                            with uow.savepoint():
                                outcome = self._process(uow, item.id, mail,
                                                        current.get(item.id, _GONE),
                                                        keys.get(item.id))
                        except BatchAborted:
                            raise
                        except Exception as e:  # only this message's writes were undone
                            log.exception("processing inbound %s failed", item.id)
                            state = uow.inbound.failed(item.id, f"{type(e).__name__}: {e}",
                                                       at=self.clock.now(),
                                                       max_attempts=MAX_ATTEMPTS)
                            outcome = Outcome(item.id, state, f"processing failed: {e}")
                        outcomes.append(outcome)
                uow.commit()
        except Exception:
            log.exception("processing %d inbound message(s) together failed; one at a time",
                          len(items))
            self.batches_redone += 1
            return [self.process(item.id) for item in items]
        for outcome in outcomes:
            _log(outcome)
        return outcomes

    def process(self, inbound_id: int) -> Outcome:
        """Process one accepted message; safe to call again for the same id."""
        try:
            with self._uow() as uow:
                outcome = self._process(uow, inbound_id)
                uow.commit()
        except Exception as e:  # a bug or an outage: count it, quarantine after a few tries
            log.exception("processing inbound %s failed", inbound_id)
            with self._uow() as uow:
                state = uow.inbound.failed(inbound_id, f"{type(e).__name__}: {e}",
                                           at=self.clock.now(), max_attempts=MAX_ATTEMPTS)
                uow.commit()
            return Outcome(inbound_id, state, f"processing failed: {e}")
        _log(outcome)
        return outcome

    def _preload(self, uow: BatchUnitOfWork, keyed: Sequence[tuple[ParsedMail, str]]) -> None:
        """Read up front, in a few statements, what the batch's messages will look up one by
        one: stored copies (duplicates), the tickets their references thread into, and the
        acknowledgements their senders got in the last hour."""
        if not keyed:
            return
        mails = [m for m, _ in keyed]
        refs = {k for m in mails for k in thread_keys(m)}
        refs.update(m.auto.original_message_id for m in mails
                    if m.auto is not None and m.auto.original_message_id)
        uow.messages.preload([(m.message_id, key) for m, key in keyed], refs)
        for handler in self.replies:
            handler.preload(uow, refs)
        tickets: set[int] = set()
        new = 0  # messages likely to open a ticket: their ids are taken together
        for m, key in keyed:
            keys = [*([m.auto.original_message_id] if m.auto and m.auto.original_message_id
                      else []), *thread_keys(m)]
            tid = uow.messages.ticket_of(keys)
            tokens = [id_of_reference(token) for token in reference_tokens(m.subject)]
            tickets.update(tokens + ([tid] if tid is not None else []))
            new += (tid is None and not tokens and m.auto is None
                    and (m.from_addr or "").lower() not in self.policy.own_addresses
                    and uow.messages.find(m.message_id, key) is None)
        uow.tickets.preload(tickets, for_update=True)
        uow.tickets.reserve(new)
        senders = {(m.from_addr or "").lower() for m in mails}
        uow.outbox.preload_counts([s for s in senders if s],
                                  self.clock.now() - timedelta(hours=1))

    # -- the steps ---------------------------------------------------------------------------

    def _process(self, uow: UnitOfWork, inbound_id: int,
                 parsed: ParsedMail | Unparseable | None = None,
                 current: InboundItem | object | None = None,
                 key: str | None = None) -> Outcome:
        """``parsed``: the message parsed before the transaction, if it was; ``current``: its
        row as read (and locked) in this transaction, if it was (``_GONE``: not found);
        ``key``: its ``content_key``, if computed already."""
        now = self.clock.now()
        if current is None:
            item = uow.inbound.get(inbound_id, for_update=True)  # one processor per message
        else:
            item = None if current is _GONE else current  # type: ignore[assignment]
        if item is None:
            return Outcome(inbound_id, "pending", "no such inbound message")
        if item.state != "pending":
            return Outcome(inbound_id, item.state, "already processed", _ref(item.ticket_id))
        mail = parsed if parsed is not None else _parse(item.raw, self.policy.limits)
        if isinstance(mail, Unparseable):
            uow.inbound.finish(inbound_id, "quarantined", at=now, reason=str(mail))
            return Outcome(inbound_id, "quarantined", str(mail))

        key = key or content_key(mail)
        seen = uow.messages.find(mail.message_id, key)
        if seen is not None:
            ref = _ref(seen.ticket_id)
            uow.inbound.finish(inbound_id, "duplicate", at=now, ticket_id=seen.ticket_id,
                               reason=f"same message as stored message {seen.id}")
            return Outcome(inbound_id, "duplicate", "already received", ref)

        sender = (mail.from_addr or "").lower()
        if sender in self.policy.own_addresses:
            self._store(uow, mail, key, item.raw, None, now)
            uow.inbound.finish(inbound_id, "ignored", at=now,
                               reason="sent from the bot's own address (a mail loop)")
            return Outcome(inbound_id, "ignored", "from the bot itself")

        if mail.auto is None and item.channel == "smtp" and not item.mail_from:
            # MAIL FROM:<> - the null reverse-path only delivery reports use (RFC 5321 4.5.5)
            mail = replace(mail, auto=AutoReply("bounce", "null envelope sender (MAIL FROM:<>)"))
        client = uow.clients.for_address(sender) if sender else None
        bulk = mail.auto is not None and mail.auto.kind in ("list", "bulk")
        if mail.auto is not None and not (bulk and client is not None):
            # bounces and auto-replies never open a ticket; list or bulk mail only does when a
            # client's contact sent it (a report through a group or a ticketing tool)
            return self._automatic(uow, inbound_id, mail, key, item.raw, now)

        # a contact's ACCEPT / APPROVE / CHALLENGE reply to a report or a policy change
        answered = self._answer(uow, mail, sender, client) if client is not None else None
        if answered is not None:
            self._store(uow, mail, key, item.raw, None, now)
            uow.inbound.finish(inbound_id, "done", at=now, reason=answered)
            return Outcome(inbound_id, "done", answered)
        ticket = self._thread(uow, mail, sender, client)
        if ticket is not None and ticket.status != TicketStatus.CLOSED:
            return self._follow_up(uow, inbound_id, ticket, mail, key, item.raw, sender,
                                   client, now)
        if client is None and self.policy.unknown_senders == "reject":
            return self._refuse_unknown(uow, inbound_id, mail, key, item.raw, sender, now)
        return self._register(uow, inbound_id, mail, key, item.raw, sender, client, now,
                              closed=ticket, answer=not bulk)

    def _answer(self, uow: UnitOfWork, mail: ParsedMail, sender: str,
                client: Client) -> str | None:
        thread = thread_keys(mail)
        if not thread or not self.replies:
            return None
        text = strip_quoted(mail.text)
        for handler in self.replies:
            answered = handler.answer_by_mail(uow, thread, text, sender, client)
            if answered is not None:
                return answered
        return None

    def _store(self, uow: UnitOfWork, mail: ParsedMail, key: str, raw: bytes,
               ticket_id: int | None, now: datetime) -> None:
        uow.messages.add(Message(
            direction="in", channel=Channel.EMAIL, message_id=mail.message_id, raw=raw,
            at=now, sender=mail.from_addr, subject=mail.subject[:500],
            text=mail.text[:FOLLOWUP_TEXT_LIMIT], ticket_id=ticket_id, content_key=key))

    def _automatic(self, uow: UnitOfWork, inbound_id: int, mail: ParsedMail, key: str,
                   raw: bytes, now: datetime) -> Outcome:
        auto = mail.auto
        assert auto is not None
        refs = [*([auto.original_message_id] if auto.original_message_id else []),
                *thread_keys(mail)]
        tid = uow.messages.ticket_of(refs)
        self._store(uow, mail, key, raw, tid, now)
        what = f"{auto.kind}: {auto.reason}"
        ref = None
        if tid is not None:
            t = uow.tickets.get(tid, for_update=True)
            if t is not None:
                ref = t.reference
                recorded = Event(EventKind.AUTO_REPLY_RECEIVED, now, "mail", {
                    "kind": auto.kind, "reason": auto.reason, "from": mail.from_addr or "",
                    "recipients": list(auto.original_recipients)})
                uow.tickets.append(t, recorded)
                self.helpdesk.announce(uow, t, [recorded])
        uow.inbound.finish(inbound_id, "ignored", at=now, ticket_id=tid,
                           reason=what + ("" if tid else " (no ticket matched)"))
        return Outcome(inbound_id, "ignored", f"{auto.kind} recorded" if tid else
                       f"{auto.kind}, no ticket matched", ref)

    def _thread(self, uow: UnitOfWork, mail: ParsedMail, sender: str,
                client: Client | None) -> Ticket | None:
        """The ticket this mail continues: by its references, else by ``[T-1042]`` in the
        subject when the sender may see that ticket."""
        tid = uow.messages.ticket_of(list(thread_keys(mail)))
        if tid is not None:
            return uow.tickets.get(tid, for_update=True)
        for token in reference_tokens(mail.subject):
            try:
                t = uow.tickets.get(id_of_reference(token), for_update=True)
            except ValueError:
                continue
            if t is not None and _may_see(t, sender, client):
                return t
        return None

    def _follow_up(self, uow: UnitOfWork, inbound_id: int, t: Ticket, mail: ParsedMail,
                   key: str, raw: bytes, sender: str, client: Client | None,
                   now: datetime) -> Outcome:
        assert t.id is not None
        self._store(uow, mail, key, raw, t.id, now)
        events = [Event(EventKind.MESSAGE_RECEIVED, now, sender or "unknown", {
            "from": sender, "text": strip_quoted(mail.text)[:FOLLOWUP_TEXT_LIMIT],
            **_details(mail)})]
        action = "follow-up"
        if t.status == TicketStatus.RESOLVED and _may_see(t, sender, client):
            resolved_at = max((e.at for e in t.events if e.kind == EventKind.RESOLVED),
                              default=now)
            if now - resolved_at <= self.policy.reopen_within:
                t.status = TicketStatus.OPEN
                events.append(Event(EventKind.REOPENED, now, sender, {
                    "reason": "the client replied after resolution"}))
                action = "follow-up reopened the ticket"
        uow.tickets.append(t, *events)
        self.helpdesk.announce(uow, t, events)
        uow.inbound.finish(inbound_id, "done", at=now, ticket_id=t.id, reason=action)
        return Outcome(inbound_id, "done", action, t.reference)

    def _register(self, uow: UnitOfWork, inbound_id: int, mail: ParsedMail, key: str,
                  raw: bytes, sender: str, client: Client | None, now: datetime,
                  closed: Ticket | None, answer: bool = True) -> Outcome:
        # the whole text: a new report is often a forward, which looks like quoted history
        body = mail.text
        if closed is not None:
            body = f"(follow-up to closed ticket {closed.reference})\n\n{body}"
        view = self.helpdesk.register_in(
            uow, subject=mail.subject, body=body, client=client, channel=Channel.EMAIL,
            requester=sender or None, headers=mail.headers, actor=sender or "mail",
            details=_details(mail))
        t = view.ticket
        assert t.id is not None
        self._store(uow, mail, key, raw, t.id, now)
        to = compose.safe_address(sender)
        action = "registered"
        if not answer:
            action += "; not acknowledged: list or bulk mail is never answered (RFC 3834)"
        elif to is None:
            action += "; not acknowledged: no usable sender address"
        elif compose.is_mail_system(to):
            action += f"; not acknowledged: {to} is a mail-system address"
        elif not self._ack_allowed(uow, to, now):
            action += f"; not acknowledged: {to} reached {self.policy.ack_limit_per_hour}/hour"
        else:
            ack = compose.acknowledgement(
                view, to=to, sender=self.policy.sender, in_reply_to=mail.message_id,
                references=list(mail.references), key=f"{t.reference}.{inbound_id}", at=now,
                phone_number=self.policy.phone_number)
            self._queue(uow, t, ack, now)
            action += "; acknowledged"
        if action != "registered; acknowledged":
            uow.tickets.append(t, Event(EventKind.NOTE, now, "mail", {"text": action}))
        uow.inbound.finish(inbound_id, "done", at=now, ticket_id=t.id, reason=action)
        return Outcome(inbound_id, "done", action, t.reference)

    def _refuse_unknown(self, uow: UnitOfWork, inbound_id: int, mail: ParsedMail, key: str,
                        raw: bytes, sender: str, now: datetime) -> Outcome:
        self._store(uow, mail, key, raw, None, now)
        to = compose.safe_address(sender)
        reason = "sender is not a contact of any client"
        if to and not compose.is_mail_system(to) and self._ack_allowed(uow, to, now):
            uow.outbox.add(compose.not_registered(
                to=to, sender=self.policy.sender, subject=mail.subject,
                in_reply_to=mail.message_id, key=str(inbound_id), at=now), at=now)
            reason += "; told so by mail"
        uow.inbound.finish(inbound_id, "ignored", at=now, reason=reason)
        return Outcome(inbound_id, "ignored", reason)

    def _ack_allowed(self, uow: UnitOfWork, to: str, now: datetime) -> bool:
        sent = uow.outbox.count_since(to, ["ack", "not-registered"], now - timedelta(hours=1))
        return sent < self.policy.ack_limit_per_hour

    @staticmethod
    def _queue(uow: UnitOfWork, t: Ticket, mail: OutboundMail, now: datetime) -> None:
        if uow.outbox.add(mail, at=now):
            uow.tickets.append(t, Event(EventKind.MAIL_SENT, now, "mail", {
                "purpose": mail.purpose, "to": list(mail.recipients),
                "message_id": mail.message_id}))


def _parse(raw: bytes, limits: Limits) -> ParsedMail | Unparseable:
    try:
        return parse_message(raw, limits)
    except Unparseable as e:
        return e


def _log(outcome: Outcome) -> None:
    if outcome.state != "pending":
        log.info("mail processed", extra={"inbound": outcome.inbound_id, "state": outcome.state,
                                          "action": outcome.action,
                                          "ticket": outcome.reference or "-"})


def _details(mail: ParsedMail) -> dict[str, object]:
    """What the event log keeps of a message besides its text: its id and its attachments
    (their bytes stay in the stored raw message; over-limit ones say why they were skipped)."""
    out: dict[str, object] = {"message_id": mail.message_id}
    if mail.attachments:
        out["attachments"] = [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size,
             "sha256": a.sha256, **({"skipped": a.skipped} if a.skipped else {})}
            for a in mail.attachments[:50]]
    return out


def _may_see(t: Ticket, sender: str, client: Client | None) -> bool:
    """Whether ``sender`` is a contact of the ticket's client (or its requester)."""
    if t.client_id is not None:
        return client is not None and client.id == t.client_id
    return bool(sender) and sender == (t.requester or "").lower()


def _ref(ticket_id: int | None) -> str | None:
    return reference_of(ticket_id) if ticket_id is not None else None
