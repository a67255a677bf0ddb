"""What the steps of the mail chain share: the policy they follow, the services they act
through, and one message's state as the steps learn it (``MailContext``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

from bot.links import ClientLinks
from bot.mail.parse import Limits, ParsedMail, Unparseable, parse_message
from bot.model import Channel, Client, InboundItem, Message, reference_of
from bot.ports import UnitOfWork
from bot.ticket import Ticket

if TYPE_CHECKING:
    from bot.services import Helpdesk, TicketView

MAX_ATTEMPTS = 3
HISTORY_CHANNEL = "import"
"""The channel of mail stored by ``supportbot import``: history wherever it is processed (a
quarantined one retried later too): dated as sent, answered to nobody."""
FOLLOWUP_TEXT_LIMIT = 20_000

Parsed = ParsedMail | Unparseable


class _Gone:
    def __repr__(self) -> str:
        return "GONE"


GONE: Final = _Gone()
"""A message's row that was read again (by a batch) and not found."""


@dataclass(frozen=True)
class MailPolicy:
    """How mail is handled (from the ``[mail]`` settings)."""

    own_addresses: frozenset[str]
    sender: str
    unknown_senders: str = "accept"  # or "reject"
    phone_number: str | None = None
    ack_limit_per_hour: int = 5
    reopen_within: timedelta = timedelta(days=7)
    late_reply: str = "new_ticket"  # or "follow_up": see MailSettings.late_reply
    limits: Limits = field(default_factory=Limits)
    links: ClientLinks | None = None
    """Signed client links: the acknowledgement carries the ticket's status page."""


@dataclass(frozen=True)
class Outcome:
    inbound_id: int
    state: str  # done, duplicate, ignored, quarantined, pending (retry later)
    action: str  # what happened, in a few words
    reference: str | None = None


class ReplyHandler(Protocol):
    """Something a client's contact may answer by mail that is not a ticket: a report sent
    for approval, a policy change (``bot/reports/approval.py``, ``bot/policy_changes.py``)."""

    def answer_by_mail(self, uow: Any, thread: tuple[str, ...], text: str, sender: str,
                       client: Client) -> str | None:
        """Inside the intake's transaction: what was done, or None when the mail answers
        nothing of this handler's (it is then an ordinary mail)."""
        ...


@dataclass(frozen=True)
class Services:
    """What the steps act through; the same for every message (of a batch)."""

    helpdesk: Helpdesk
    policy: MailPolicy
    replies: tuple[ReplyHandler, ...] = ()


@dataclass
class MailContext:
    """One message on its way through the chain. The first steps fill in what the later ones
    read: the row, the parsed mail, its content key, the sender's client, the thread's ticket,
    the registered ticket."""

    uow: UnitOfWork
    services: Services
    inbound_id: int
    now: datetime
    item: InboundItem | None = None
    read: bool = False
    """Whether ``item`` was read (and locked) already, by the batch: then None is not found."""
    mail: Parsed | None = None  # parsed ahead, or by the parse step
    key: str | None = None  # the mail's ``content_key``, once known
    client: Client | None = None
    ticket: Ticket | None = None  # the ticket the mail continues, if it continues one
    view: TicketView | None = None  # the ticket the mail registered
    action: str = ""  # what was done, as the outcome will say it
    history: bool = False
    """Imported from a mailbox's past (``supportbot import``): ``now`` is the mail's date and
    nobody is answered (no acknowledgement, no "not registered" reply)."""

    @property
    def parsed(self) -> ParsedMail:
        """The mail, for the steps after parsing."""
        assert isinstance(self.mail, ParsedMail), "the parse step comes first"
        return self.mail

    @property
    def raw(self) -> bytes:
        assert self.item is not None, "the pending step comes first"
        return self.item.raw

    @property
    def sender(self) -> str:
        return (self.parsed.from_addr or "").lower()

    @property
    def bulk(self) -> bool:
        """List or bulk mail: never answered, registered only from a client's contact."""
        auto = self.parsed.auto
        return auto is not None and auto.kind in ("list", "bulk")

    @property
    def policy(self) -> MailPolicy:
        return self.services.policy

    @property
    def helpdesk(self) -> Helpdesk:
        return self.services.helpdesk

    def outcome(self, state: str, action: str, reference: str | None = None) -> Outcome:
        return Outcome(self.inbound_id, state, action, reference)

    def store(self, ticket_id: int | None) -> None:
        """Keep the mail (raw, with its content key) in the messages, for the ticket if any."""
        mail = self.parsed
        assert self.key is not None
        self.uow.messages.add(Message(
            direction="in", channel=Channel.EMAIL, message_id=mail.message_id, raw=self.raw,
            at=self.now, sender=mail.from_addr, subject=mail.subject[:500],
            text=mail.text[:FOLLOWUP_TEXT_LIMIT], ticket_id=ticket_id, content_key=self.key))

    def ack_allowed(self, to: str) -> bool:
        """Whether ``to`` may get one more automatic answer this hour."""
        sent = self.uow.outbox.count_since(to, ["ack", "not-registered"],
                                           self.now - timedelta(hours=1))
        return sent < self.policy.ack_limit_per_hour


def content_key(p: ParsedMail) -> str:
    """What makes two copies one message: the same mail arriving by SMTP and by IMAP differs
    in trace headers (Received, Delivered-To), not in these."""
    h = hashlib.sha256()
    for part in (p.from_addr or "", p.subject, p.date.isoformat() if p.date else "", p.text,
                 *(a.sha256 for a in p.attachments)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def parse_one(raw: bytes, limits: Limits) -> Parsed:
    try:
        return parse_message(raw, limits)
    except Unparseable as e:
        return e


def parse_all(raws: Sequence[bytes], limits: Limits) -> list[Parsed]:
    """Parse each message; what cannot be parsed comes back as its ``Unparseable``. A
    module-level function so that a process pool can run it."""
    return [parse_one(raw, limits) for raw in raws]


def details(mail: ParsedMail) -> dict[str, object]:
    """What the event log keeps of a message besides its text: its id and its attachments
    (their bytes stay in the stored raw message; over-limit ones say why they were skipped)."""
    out: dict[str, object] = {"message_id": mail.message_id}
    if mail.attachments:
        out["attachments"] = [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size,
             "sha256": a.sha256, **({"skipped": a.skipped} if a.skipped else {})}
            for a in mail.attachments[:50]]
    return out


def may_see(t: Ticket, sender: str, client: Client | None) -> bool:
    """Whether ``sender`` is a contact of the ticket's client (or its requester)."""
    if t.client_id is not None:
        return client is not None and client.id == t.client_id
    return bool(sender) and sender == (t.requester or "").lower()


def ref(ticket_id: int | None) -> str | None:
    return reference_of(ticket_id) if ticket_id is not None else None
