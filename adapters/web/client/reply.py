"""The status page's "add information" form as the mail reply it stands for.

What the client writes on the page takes the path their mail reply would: it becomes an RFC
5322 message from the ticket's requester, in the ticket's thread (``In-Reply-To`` the
ticket's first message, ``[T-...]`` in the subject), stored in the one inbox before the page
says yes, and processed by the mail chain (threading, follow-up, reopening). Its Message-ID
comes from the form's nonce, so a form sent twice is one message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bot.mail.compose import one_line, safe_message_ids, subject_with_reference

VIA = "status-page"
"""The ``X-Supportbot-Via`` header of such a message (what the audit trail shows)."""
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TEXT = 20_000


class FormError(ValueError):
    """What the client must correct; the page shows it with their text kept."""


def check_text(text: str) -> str:
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise FormError("Write something to add: the message is empty.")
    if len(cleaned) > MAX_TEXT:
        raise FormError(f"The message is {len(cleaned):,} characters long; at most "
                        f"{MAX_TEXT:,} fit. Send the rest as a mail reply (attachments too).")
    return cleaned


def reply_mail(*, reference: str, subject: str, requester: str, support: str, text: str,
               nonce: str, thread: Sequence[str], at: datetime) -> bytes:
    """The raw message the form stands for. ``thread``: the ticket's Message-IDs, oldest
    first; ``nonce``: the form's (checked by the caller against ``NONCE``)."""
    if not NONCE.match(nonce):
        raise FormError("The form is incomplete; reload the page and send again.")
    domain = support.rpartition("@")[2] or "supportbot.invalid"
    m = EmailMessage(policy=SMTP)
    m["From"] = requester
    m["To"] = support
    m["Subject"] = subject_with_reference(reference, f"Re: {one_line(subject, 150)}")
    m["Date"] = format_datetime(at)
    m["Message-ID"] = f"<{VIA}.{reference}.{nonce}@{domain}>"
    ids = safe_message_ids(thread)
    if ids:
        m["In-Reply-To"] = ids[0]
        m["References"] = " ".join(ids)
    m["X-Supportbot-Via"] = VIA
    m.set_content(check_text(text) + "\n")
    return m.as_bytes()
