"""What the mail package produces: parsed mail, its attachments, and automatic-reply findings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

AutoKind = Literal["bounce", "auto-reply", "list", "bulk"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds that keep parsing fast and small whatever the input."""

    max_header_bytes: int = 64 * 1024  # top-level header section; the rest is dropped
    max_depth: int = 10  # MIME nesting below the top-level message
    max_parts: int = 200  # MIME parts parsed at all; the rest of the input is not read
    max_attachment_bytes: int = 10 * MiB  # one attachment's decoded size
    max_total_attachment_bytes: int = 25 * MiB  # all attachments kept together
    max_text_chars: int = 1_000_000  # body text (and HTML) kept
    max_filename_chars: int = 120


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Attachment:
    """One non-body part. ``data`` is None when a limit skipped it (``skipped`` says why)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None
    skipped: str | None = None


@dataclass(frozen=True)
class AutoReply:
    """Why a message is automatic, and for bounces what it is about.

    ``kind``: ``bounce`` (delivery failure or delay, abuse feedback report), ``auto-reply``
    (out-of-office, read receipt, other generated mail), ``list`` (mailing-list traffic),
    ``bulk`` (``Precedence: bulk/junk``). None of these may be answered automatically.
    """

    kind: AutoKind
    reason: str
    original_message_id: str | None = None
    original_recipients: tuple[str, ...] = ()
    delayed: bool = False  # a delay warning: delivery is still being retried

    @property
    def is_bounce_or_reply(self) -> bool:
        """True for bounces and auto-replies (as opposed to list or bulk mail)."""
        return self.kind in ("bounce", "auto-reply")


@dataclass(frozen=True)
class ParsedMail:
    """A mail message, decoded and bounded. Addresses are lower-cased addr-specs.

    ``return_path`` is None when the header is absent and ``""`` for the null path ``<>``.
    ``message_id`` is synthetic (``<sha256-...@supportbot.invalid>``) when the mail had none.
    """

    message_id: str
    subject: str
    from_addr: str | None
    content_hash: str
    text: str = ""
    html: str | None = None
    from_name: str | None = None
    reply_to: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    return_path: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()
    auto: AutoReply | None = None

    @property
    def message_id_synthetic(self) -> bool:
        return self.message_id.endswith("@supportbot.invalid>")

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Picklable (parsing may run in another process): the read-only headers travel as a
        plain dict and are made read-only again on arrival."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["headers"] = dict(self.headers)
        return _parsed_mail, (state,)


def _parsed_mail(state: dict[str, Any]) -> ParsedMail:
    return ParsedMail(**{**state, "headers": MappingProxyType(state["headers"])})
