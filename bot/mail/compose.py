"""Mail the bot writes: acknowledgements, staff replies, notices. Pure: it builds bytes.

No header is built from unchecked input: subjects and names from clients are reduced to one
line of printable text, addresses must be plain addr-specs, and the Message-IDs the bot puts in
threading headers are checked for shape. Every mail the bot writes itself says
``Auto-Submitted: auto-replied`` (or ``auto-generated``) so other robots do not answer it
(RFC 3834); a staff reply does not: a person wrote it.
"""

from __future__ import annotations

import quopri
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bot import readable
from bot.change_requests import clock_description
from bot.model import OutboundMail
from bot.services import TicketView

_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}"
                   r"[A-Za-z0-9])?$")
_MSGID = re.compile(r"^<[^<>\s@]{1,200}@[^<>\s@]{1,200}>$")


def one_line(text: str, limit: int = 200) -> str:
    """Printable text on one line: control characters (CR, LF included) become spaces."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned[:limit]


def safe_address(address: str | None) -> str | None:
    """``address`` if it is a plain ASCII addr-spec safe to put in a header, else None."""
    if not address:
        return None
    a = address.strip()
    return a if _ADDR.match(a) and ".." not in a else None


MAIL_SYSTEM_LOCAL_PARTS = frozenset({
    "mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply",
    "bounce", "bounces", "mail-daemon", "auto-reply", "autoreply", "post_master", "post-master",
    "mailer_daemon", "mailerdaemon", "mdaemon",
})
"""Role addresses of mail systems and robots: never answered automatically (RFC 3834 §2)."""


def is_mail_system(address: str) -> bool:
    return address.partition("@")[0].lower() in MAIL_SYSTEM_LOCAL_PARTS


def safe_message_ids(ids: Sequence[str], limit: int = 20) -> list[str]:
    return [m for m in ids if _MSGID.match(m)][-limit:]


def message_id(kind: str, key: str, sender: str) -> str:
    """A deterministic Message-ID: retrying the same decision produces the same mail."""
    domain = sender.rpartition("@")[2] or "supportbot.invalid"
    token = re.sub(r"[^A-Za-z0-9.-]", "-", f"{kind}.{key}")
    return f"<{token}@{domain}>"


def _local(dt: datetime | None, view: TicketView) -> str:
    return readable.when(dt, view.policy.calendar.tz)


def _fields(sender: str, to: str, subject: str, msgid: str, *, in_reply_to: str | None,
            references: Sequence[str], at: datetime, auto: str | None) -> list[tuple[str, str]]:
    """The header fields of a mail the bot writes, in order, values not yet encoded."""
    fields = [("From", f"Support <{sender}>"), ("To", to), ("Subject", subject),
              ("Date", format_datetime(at)), ("Message-ID", msgid)]
    if in_reply_to and _MSGID.match(in_reply_to):
        fields.append(("In-Reply-To", in_reply_to))
    refs = safe_message_ids(references)
    if refs:
        fields.append(("References", " ".join(refs)))
    if auto is not None:  # None: a person wrote it (RFC 3834: no Auto-Submitted, or "no")
        fields += [("Auto-Submitted", auto), ("X-Auto-Response-Suppress", "All")]
    return fields


def base_message(sender: str, to: str, subject: str, msgid: str, *, at: datetime,
                 in_reply_to: str | None = None, references: Sequence[str] = (),
                 auto: str | None = "auto-replied") -> EmailMessage:
    """The header of a mail the bot writes, as an ``EmailMessage`` to add content to (for
    multipart mail): From as "Support", Message-ID, Date, threading fields and, unless ``auto``
    is None, ``Auto-Submitted: <auto>``."""
    m = EmailMessage(policy=SMTP)
    for name, value in _fields(sender, to, subject, msgid, in_reply_to=in_reply_to,
                               references=references, at=at, auto=auto):
        m[name] = Address(display_name="Support", addr_spec=sender) if name == "From" else value
    return m


LINE_MAX = 78
UTF8_Q = Charset("utf-8")
UTF8_Q.header_encoding = QP  # encoded words as readable as they can be
"""RFC 5322's recommended line length; header fields are folded to it where they can be."""


def _header_field(name: str, value: str) -> bytes:
    """``Name: value`` with CRLF, folded at spaces. Runs of words that are not ASCII, or that
    look like RFC 2047 words, become UTF-8 encoded words; other words stay readable (so a
    ``[T-...]`` token is seen even by software that does not decode)."""
    tokens: list[str] = []
    run: list[str] = []
    for word in value.split(" "):
        if word.isascii() and "=?" not in word:
            if run:
                tokens += Header(" ".join(run), UTF8_Q).encode(maxlinelen=76).split()
                run = []
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens += Header(" ".join(run), UTF8_Q).encode(maxlinelen=76).split()
    lines = [f"{name}:"]
    for token in tokens:
        if len(lines[-1]) + 1 + len(token) > LINE_MAX and len(lines[-1]) > len(name) + 1:
            lines.append("")
        lines[-1] += f" {token}"
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _text_body(text: str) -> tuple[bytes, bytes]:
    """(Content-Transfer-Encoding, body with CRLF) of a UTF-8 text part, chosen as
    ``EmailMessage.set_content`` chooses under ``email.policy.SMTP``: 7bit or 8bit when every
    line fits in 78 bytes, else quoted-printable."""
    lines = text.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= LINE_MAX:
        body = b"\n".join(lines) + b"\n"
        cte = b"7bit" if body.isascii() else b"8bit"
    else:
        cte, body = b"quoted-printable", quopri.encodestring(b"\n".join(lines) + b"\n")
    return cte, body.replace(b"\n", b"\r\n")


def _text_mail(sender: str, to: str, subject: str, msgid: str, body: str, *,
               in_reply_to: str | None, references: Sequence[str], at: datetime,
               auto: str | None = "auto-replied") -> bytes:
    """A text/plain mail as bytes, built directly (``base_message`` + ``set_content`` cost
    ~2 ms in ``email.headerregistry``); unusual addresses take that path anyway."""
    if not (safe_address(sender) and safe_address(to) and _MSGID.match(msgid)):
        m = base_message(sender, to, subject, msgid, in_reply_to=in_reply_to,
                         references=references, at=at, auto=auto)
        m.set_content(body)
        return m.as_bytes()
    fields = _fields(sender, to, one_line(subject, 998), msgid, in_reply_to=in_reply_to,
                     references=references, at=at, auto=auto)
    cte, data = _text_body(body)
    return (b"".join(_header_field(n, v) for n, v in fields)
            + b"Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: "
            + cte + b"\r\nMIME-Version: 1.0\r\n\r\n" + data)


def subject_with_reference(reference: str, subject: str) -> str:
    s = one_line(subject, 150) or "(no subject)"
    return s if f"[{reference}]" in s else f"[{reference}] {s}"


def acknowledgement(view: TicketView, *, to: str, sender: str, in_reply_to: str | None,
                    references: Sequence[str], key: str, at: datetime,
                    phone_number: str | None, status_url: str | None = None) -> OutboundMail:
    """The receipt for a new ticket: reference, priority and why, due instants, P1 phone step,
    and the link to the ticket's status page (``status_url``) when there is one."""
    t = view.ticket
    ref = t.reference
    lines = [
        f"We have registered your report as {ref}.",
        "",
        f"Priority: {t.priority}",
    ]
    reasons = next((e.data.get("reasons", []) for e in t.events
                    if e.kind == "priority_set" and e.actor == "classifier"), [])
    lines += [f"  - {one_line(r, 300)}" for r in reasons[:5]]
    for c in view.clocks.values():
        what = clock_description(view.policy, c.name)
        if c.due is not None:
            lines.append(f"{what}: due {_local(c.due, view)} (within "
                         f"{readable.duration(c.target)} of working time)")
        else:
            lines.append(f"{what}: {readable.duration(c.target)} of working time, counted from "
                         f"when it starts")
    if t.phone_followup == "pending":
        lines += ["", f"This is a {t.priority} incident: the agreement requires it to be "
                      "followed up by a phone call."]
        if phone_number:
            lines.append(f"Please call us now on {readable.phone(phone_number)} and mention {ref}.")
    lines += ["", f"Reply to this mail to add information; keep [{ref}] in the subject."]
    if status_url:
        lines += ["", f"Follow {ref} and add information on its status page:", status_url]
    lines.append("")
    subject = subject_with_reference(ref, f"Re: {t.subject}")
    msgid = message_id("ack", key, sender)
    raw = _text_mail(sender, to, subject, msgid, "\n".join(lines), in_reply_to=in_reply_to,
                     references=[*references, in_reply_to or ""], at=at)
    return OutboundMail("ack", sender, (to,), msgid, subject, raw, ticket_id=t.id)


def staff_reply(view: TicketView, *, to: str, sender: str, text: str, thread: Sequence[str],
                key: str, at: datetime, author: str | None, team: str = "Support") -> OutboundMail:
    """A reply from staff to the client, in the ticket's mail thread, signed by ``author``
    (the staff member's name; None: not one of the directory) and ``team``, never by an
    internal actor id."""
    t = view.ticket
    subject = subject_with_reference(t.reference, f"Re: {t.subject}")
    msgid = message_id("reply", key, sender)
    ids = safe_message_ids(thread)
    signed = (f"{one_line(author, 80)}, " if author else "") + one_line(team, 80)
    body = f"{text.rstrip()}\n\n-- \n{signed} ({t.reference})\n"
    raw = _text_mail(sender, to, subject, msgid, body, in_reply_to=ids[-1] if ids else None,
                     references=ids, at=at, auto=None)  # a person wrote it: not automatic mail
    return OutboundMail("reply", sender, (to,), msgid, subject, raw, ticket_id=t.id)


def notice(view: TicketView, *, to: str, sender: str, text: str, thread: Sequence[str],
           key: str, at: datetime) -> OutboundMail:
    """A progress notice (priority changed, cause confirmed, resolved) in the ticket's thread."""
    t = view.ticket
    subject = subject_with_reference(t.reference, f"Re: {t.subject}")
    msgid = message_id("notice", key, sender)
    ids = safe_message_ids(thread)
    raw = _text_mail(sender, to, subject, msgid, text.rstrip() + "\n",
                     in_reply_to=ids[-1] if ids else None, references=ids, at=at,
                     auto="auto-generated")
    return OutboundMail("notice", sender, (to,), msgid, subject, raw, ticket_id=t.id)


def alert_mail(*, to: Sequence[str], sender: str, reference: str, subject: str, text: str,
               key: str, at: datetime, ticket_id: int | None = None) -> OutboundMail:
    """An alert for the provider's own people (a deadline reminder, a breach). The Message-ID
    comes from the alert's key, so queueing the same alert twice queues one mail."""
    msgid = message_id("alert", key, sender)
    subj = subject_with_reference(reference, subject)
    m = base_message(sender, ", ".join(to), subj, msgid, at=at, auto="auto-generated")
    m.set_content(text.rstrip() + "\n")
    return OutboundMail("alert", sender, tuple(to), msgid, subj, m.as_bytes(),
                        ticket_id=ticket_id)


def not_registered(*, to: str, sender: str, subject: str, in_reply_to: str | None, key: str,
                   at: datetime) -> OutboundMail:
    """The answer to a sender who is not a contact of any client (when configured to reject)."""
    msgid = message_id("unregistered", key, sender)
    subj = f"Re: {one_line(subject, 150) or '(no subject)'}"
    raw = _text_mail(sender, to, subj, msgid,
                     "Your message was not registered: this address is not registered as a "
                     "contact of any client.\nPlease write from your registered address, or "
                     "ask your account manager to add this one.\n",
                     in_reply_to=in_reply_to, references=[], at=at)
    return OutboundMail("not-registered", sender, (to,), msgid, subj, raw)
