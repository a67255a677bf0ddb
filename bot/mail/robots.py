"""Automatic mail that neither RFC 3834 headers nor the usual bounce words give away.

- Amazon SES notifications delivered by SNS: a JSON body (``"notificationType": "Bounce"``)
  from ``no-reply@sns.amazonaws.com`` with an ``x-amz-sns-message-id`` header. The JSON names
  the bounced recipients and the original Message-ID.
- A null or address-less From (``From: MAILER-DAEMON <>``, DragonFly Mail Agent and Jetmail
  write it): no person sends from there, and pipe delivery has no envelope sender to tell.
- Delivery status fields (``Final-Recipient: rfc822; ...``, ``Action: failed``, ``Status:
  5.1.1``) in the text: a DSN forwarded inline, quoted or not. A person who forwards a bounce
  forwards a machine's report, so it is recorded like the bounce itself.
- Mailing-list robots (fml's "You x@y are not member", "Loop Alert: Duplicated Message-ID",
  Mailman's "awaits moderator approval") and robot senders (``-request``, ``-bounces``,
  ``owner-``, ``no-reply``...): the subjects nobody else writes are strong, the rest weak.
  ``-admin`` is no robot sign: ``it-admin@`` is a person who may well write "Mail delivery
  failed for our whole domain".
- Challenge-response robots asking the sender to have their address added to an allowed list.
- Hotmail's complaint reports ("complaint about message from 192.0.2.1"), the JMRP form of a
  feedback report without ``multipart/report``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.mail.bounces import DAEMON_LOCALPARTS, local_part
from bot.mail.model import AutoKind
from bot.mail.signals import Signal

TEXT_SCAN_CHARS = 20_000
"""How far into the body text the JSON and the forwarded status fields are looked for."""

SNS_HEADER = "x-amz-sns-message-id"
SES_SENDER_DOMAINS = ("amazonaws.com", "amazonses.com")
SES_TYPE = re.compile(r'"(?:notificationType|eventType)"\s*:\s*"([A-Za-z ]+)"')
SES_RECIPIENT = re.compile(r'"emailAddress"\s*:\s*"([^"\s@]+@[^"\s@]+)"')
SES_MESSAGE_ID = re.compile(
    r'"name"\s*:\s*"message-id"\s*,\s*"value"\s*:\s*"(<[^"<>\s]+>)"'
    r'|"messageId"\s*:\s*"(<[^"<>\s]+>)"',
    re.I,
)
SES_KINDS: dict[str, tuple[AutoKind, str]] = {
    "bounce": ("bounce", "bounce"), "complaint": ("bounce", "complaint"),
    "deliverydelay": ("bounce", "delivery delay"), "reject": ("bounce", "reject"),
}  # fmt: skip
"""SES notification types about a failure; the others (Delivery, Send, Open...) only inform."""
SENDMAIL_LONG_LINE_BREAK = "!\n "
"""Sendmail breaks lines over 990 octets with ``!`` and a folded line: JSON bodies get it."""

DSN_FIELDS = (
    re.compile(r"^[>\s]*final-recipient:\s*rfc822\s*;", re.I | re.M),
    re.compile(r"^[>\s]*action:\s*(failed|delayed|delivered|relayed|expanded)\b", re.I | re.M),
    re.compile(r"^[>\s]*status:\s*[245]\.\d{1,3}\.\d{1,3}\b", re.I | re.M),
)

NULL_FROM = re.compile(r"<\s*>")
DAEMON_NAMES = re.compile(
    r"^[\s\"']*(mailer[-_ ]?daemon|mail delivery (subsystem|system|service))\b", re.I
)

LIST_ROBOT_SUBJECTS_STRONG = re.compile(
    r"^\s*(loop alert:\s*duplicated message-id\b|you\s+\S+@\S+\s+are not (a )?member\b)", re.I
)
LIST_ROBOT_SUBJECTS_WEAK = re.compile(
    r"\bare not (a )?member\b|\bawaits moderator approval\b|\bmessage to \S+ was rejected\b", re.I
)
LIST_ROBOT_BODY = re.compile(
    r"you are not (a )?member of (this|the) (mailing )?list|only members of the list can post"
    r"|your message to \S+ awaits moderator approval|duplicated message-id",
    re.I,
)
ROBOT_LOCALPARTS = re.compile(
    r"^(owner-.+|.+-(request|owner|bounces?)|no[-_.]?reply|do[-_.]?not[-_.]?reply)$",
    re.I,
)
"""Senders that are list robots or say nobody reads them."""

CHALLENGE_BODY = re.compile(
    r"to\s+have\s+your\s+address\s+added\s+to\s+the\s+recipient'?s\s+(allowed|approved|white)"
    r"\s*list", re.I
)
"""Challenge-response systems (Bluebottle): the sender is asked to prove they are a person."""
COMPLAINT_SUBJECT = re.compile(r"^\s*complaint about message from \d{1,3}(\.\d{1,3}){3}\b", re.I)


@dataclass(frozen=True)
class SesNotice:
    """What an Amazon SES notification says."""

    kind: AutoKind
    what: str  # "bounce", "complaint", "delivery"...
    recipients: tuple[str, ...]
    message_id: str | None

    @property
    def reason(self) -> str:
        return f"Amazon SES {self.what} notification (SNS)"


def ses_notice(
    headers: Mapping[str, str], from_addr: str | None, text: str
) -> SesNotice | None:
    """The SES notification in ``text``, when the mail comes from Amazon's notifier."""
    domain = (from_addr or "").rpartition("@")[2].lower()
    from_amazon = any(domain == d or domain.endswith("." + d) for d in SES_SENDER_DOMAINS)
    if SNS_HEADER not in headers and not from_amazon:
        return None
    body = text[:TEXT_SCAN_CHARS].replace(SENDMAIL_LONG_LINE_BREAK, "")
    found = SES_TYPE.search(body)
    if found is None:
        return None
    name = found.group(1).strip()
    kind, what = SES_KINDS.get(name.lower().replace(" ", ""), ("auto-reply", name.lower()))
    recipients = tuple(dict.fromkeys(a.lower() for a in SES_RECIPIENT.findall(body)))
    mid = SES_MESSAGE_ID.search(body)
    return SesNotice(kind, what, recipients[:50], (mid.group(1) or mid.group(2)) if mid else None)


def robot_signals(
    headers: Mapping[str, str], raw_from: str | None, from_addr: str | None, text: str
) -> list[Signal]:
    """The signs above, from the decoded headers, the raw From, its address and the text."""
    out: list[Signal] = []
    subject = headers.get("subject", "")
    notice = ses_notice(headers, from_addr, text)
    if notice is not None:
        out.append(Signal(notice.kind, True, notice.reason, "h"))
    elif SNS_HEADER in headers:
        out.append(Signal("auto-reply", False, "sent through Amazon SNS", "sns"))
    out += _from_signals(raw_from, from_addr)
    head = text[:TEXT_SCAN_CHARS]
    if all(field.search(head) for field in DSN_FIELDS):
        out.append(Signal("bounce", True, "delivery status fields in the text (a forwarded "
                          "DSN: Final-Recipient, Action, Status)", "dsn-text"))
    if LIST_ROBOT_SUBJECTS_STRONG.search(subject):
        out.append(Signal("auto-reply", True, f"list robot subject {subject[:60]!r}", "subject"))
    elif LIST_ROBOT_SUBJECTS_WEAK.search(subject):
        out.append(Signal("auto-reply", False, f"list-robot-like subject {subject[:60]!r}",
                          "subject"))
    robot_text = LIST_ROBOT_BODY.search(head)
    if robot_text:
        out.append(Signal("auto-reply", False, f"list robot text {robot_text.group(0)!r}",
                          "body"))
    challenge = CHALLENGE_BODY.search(head)
    if challenge:
        out.append(Signal("auto-reply", True, f"challenge-response text {challenge.group(0)!r}",
                          "body"))
    if COMPLAINT_SUBJECT.search(subject):
        out.append(Signal("bounce", True, f"abuse complaint subject {subject[:60]!r}",
                          "subject"))
    return out


def _from_signals(raw_from: str | None, from_addr: str | None) -> list[Signal]:
    if raw_from is not None and not from_addr:
        shown = raw_from.strip()[:60]
        if DAEMON_NAMES.search(raw_from) or local_part(raw_from.strip().strip("<>").lower()) \
                in DAEMON_LOCALPARTS:
            return [Signal("bounce", True, f"sent by a mail daemon with no address ({shown})",
                           "h")]
        if NULL_FROM.search(raw_from):
            return [Signal("auto-reply", True, f"null From address ({shown})", "h")]
        return []
    if from_addr and ROBOT_LOCALPARTS.match(local_part(from_addr)):
        return [Signal("auto-reply", False, f"robot sender {from_addr}", "sender")]
    return []
