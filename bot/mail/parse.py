"""Raw mail bytes to a bounded, decoded ``ParsedMail``. Pure: no I/O, no clock."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.policy import Policy
from types import MappingProxyType

from bot.mail.decode import header_text
from bot.mail.defects import describe
from bot.mail.errors import Unparseable
from bot.mail.headers import (
    address_list,
    message_id_of,
    parse_date,
    return_path_of,
    synthetic_message_id,
)
from bot.mail.headers import (
    message_ids as ids_in,
)
from bot.mail.loops import detect_auto
from bot.mail.mime import SAFE_POLICY, charset_hint, header_map, raw_header
from bot.mail.model import DEFAULT_LIMITS, Limits, ParsedMail
from bot.mail.parts import collect_parts

HEADER_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")
BLANK_LINE = re.compile(rb"(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r(?!\n))")
LEADING_SPACE = re.compile(rb"[ \t\r\n]*")
BINARY_BYTES = bytes([*range(9), *range(14, 32), 127])
"""Control bytes that do not occur in text (TAB, LF, VT, FF and CR do)."""
FEED_CHUNK = 16 * 1024
SUBJECT_MAX = 998
MAX_IDS = 100
MAX_ADDRESSES = 100


@dataclass
class _Prepared:
    """The repaired header (LF line endings) and where the body starts in the raw bytes."""

    head: bytes
    body_prefix: bytes = b""  # body lines found inside a header without a blank line
    body_offset: int = 0
    fields: int = 0
    has_from: bool = False
    separated: bool = False
    defects: list[str] = field(default_factory=list)


class _CountingFactory:
    """Message factory that counts the parts the parser creates."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, policy: Policy = SAFE_POLICY) -> EmailMessage:
        self.count += 1
        return EmailMessage(policy=policy)


def _is_continuation(line: bytes) -> bool:
    return line[:1] in (b" ", b"\t")


def _prepare(raw: bytes, limits: Limits) -> _Prepared:
    """Find the header section, repair it line by line and cap its size. The body is left in
    place: the parser takes any mix of CRLF, LF and CR line endings."""
    out = _Prepared(b"")
    start = LEADING_SPACE.match(raw).end()  # type: ignore[union-attr]
    if start and HEADER_FIELD.match(raw, start):
        out.defects.append("blank or whitespace lines before the header dropped")
    else:
        start = 0
    blank = BLANK_LINE.search(raw, start)
    out.separated = blank is not None
    head_end = blank.start() if blank else len(raw)
    out.body_offset = blank.end() if blank else len(raw)
    head = raw[start : min(head_end, start + limits.max_header_bytes)]
    capped = head_end - start > limits.max_header_bytes
    lines = head.splitlines()
    if capped and len(lines) > 1 and raw[start + len(head) - 1 : start + len(head)] not in b"\r\n":
        lines.pop()  # the cut fell inside a line

    kept: list[bytes] = []
    seen_field = False
    dropped: list[bytes] = []
    for i, line in enumerate(lines):
        if i == 0 and line.startswith(b"From ") and not HEADER_FIELD.match(line):
            kept.append(line)  # mbox "From " line: the parser knows it
            continue
        match = HEADER_FIELD.match(line)
        if match:
            seen_field = True
            if match.end() - match.end(1) > 1:
                line = match.group(1) + b":" + line[match.end() :]
                _note(out.defects, "whitespace before a header colon removed")
            out.fields += 1
            out.has_from = out.has_from or match.group(1).lower() == b"from"
        elif _is_continuation(line) or not line:
            if not seen_field:
                _note(out.defects, "blank or continuation line before the first header dropped")
                continue
        else:
            following = lines[i + 1] if i + 1 < len(lines) else b""
            if HEADER_FIELD.match(following) or (_is_continuation(following) and following.strip()):
                dropped.append(line)
                continue
            out.defects.append("no blank line between header and body")
            out.body_prefix = b"\n".join(lines[i:]) + b"\n" + (b"\n" if out.separated else b"")
            break
        kept.append(line)
    if dropped:
        first = repr(dropped[0][:60].decode("ascii", "replace"))
        out.defects.append(f"{len(dropped)} malformed header line(s) dropped, first {first}")
    if capped:
        size = sum(len(line) + 1 for line in kept)
        out.defects.append(
            f"header section of {head_end - start} bytes cut to the first {size} bytes "
            f"(limit {limits.max_header_bytes})"
        )
    out.head = b"\n".join(kept) + b"\n\n"
    return out


def _note(defects: list[str], text: str) -> None:
    if text not in defects:
        defects.append(text)


def _feed(raw: bytes, prepared: _Prepared, limits: Limits, defects: list[str]) -> Message:
    """Parse with the feed parser, and stop reading once the part limit is passed."""
    factory = _CountingFactory()
    parser = BytesFeedParser(_factory=factory, policy=SAFE_POLICY)
    factory.count = 0
    parser.feed(prepared.head + prepared.body_prefix)
    view = memoryview(raw)
    for start in range(prepared.body_offset, len(raw), FEED_CHUNK):
        if factory.count > limits.max_parts:
            break
        parser.feed(bytes(view[start : start + FEED_CHUNK]))
    if factory.count > limits.max_parts:
        defects.append(f"more than {limits.max_parts} MIME parts: the rest was not read")
    return parser.close()


def _check_takeable(raw: bytes, prepared: _Prepared) -> None:
    if LEADING_SPACE.match(raw).end() == len(raw):  # type: ignore[union-attr]
        raise Unparseable("empty message")
    head = raw[:4096]
    binary = len(head) - len(head.translate(None, BINARY_BYTES))
    if not prepared.has_from and (b"\x00" in head or binary > len(head) // 10):
        raise Unparseable("binary data, not a mail message")
    if prepared.fields == 0:
        raise Unparseable("no header fields: not a mail message")
    if not prepared.has_from and not prepared.separated:
        raise Unparseable("no From header and no blank line between header and body")


def parse_message(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedMail:
    """Parse raw mail bytes, tolerating whatever can be tolerated (see ``defects``).

    Raises ``Unparseable`` only for input that is not a mail message at all.
    """
    raw = bytes(raw)
    prepared = _prepare(raw, limits)
    _check_takeable(raw, prepared)
    defects = list(prepared.defects)
    msg = _feed(raw, prepared, limits, defects)
    hint = charset_hint(msg, limits.max_depth, limits.max_parts)
    headers = header_map(msg, hint)
    parts = collect_parts(msg, limits)
    defects.extend(parts.defects)
    defects.extend(d for d in describe(msg, limits) if d not in defects)

    content_hash = hashlib.sha256(raw).hexdigest()
    message_id = message_id_of(raw_header(msg, "message-id"))
    if message_id is None:
        message_id = synthetic_message_id(content_hash)
        defects.append("no usable Message-ID: a synthetic one was made from the content")
    senders = address_list(raw_header(msg, "from"), "from", 1, hint)
    from_name, from_addr = senders[0] if senders else (None, None)
    if from_addr is None:
        defects.append("no usable From address")
    date = parse_date(raw_header(msg, "date"))
    if date is None and raw_header(msg, "date") is not None:
        defects.append(f"unparseable Date: {headers.get('date', '')[:60]!r}")

    return ParsedMail(
        message_id=message_id,
        subject=header_text(raw_header(msg, "subject"), SUBJECT_MAX, hint),
        from_addr=from_addr,
        from_name=from_name or None,
        content_hash=content_hash,
        # a NUL can be in a decoded part; no text column (PostgreSQL's) can hold one
        text=parts.text.replace("\x00", "\ufffd"),
        html=parts.html.replace("\x00", "\ufffd") if parts.html else parts.html,
        reply_to=_addrs(msg, "reply-to", hint),
        to=_addrs(msg, "to", hint),
        cc=_addrs(msg, "cc", hint),
        in_reply_to=_ids(msg, "in-reply-to"),
        references=_ids(msg, "references"),
        date=date,
        return_path=return_path_of(raw_header(msg, "return-path")),
        headers=MappingProxyType(headers),
        attachments=tuple(parts.attachments),
        defects=tuple(defects),
        auto=detect_auto(msg, headers, parts.text, limits),
    )


def _ids(msg: Message, name: str) -> tuple[str, ...]:
    """Message ids of a header; past ``MAX_IDS`` the first (thread root) and the latest."""
    found = ids_in(raw_header(msg, name))
    if len(found) > MAX_IDS:
        found = found[:1] + found[-(MAX_IDS - 1) :]
    return tuple(found)


def _addrs(msg: Message, name: str, hint: str | None) -> tuple[str, ...]:
    found = address_list(raw_header(msg, name), name, MAX_ADDRESSES, hint)
    return tuple(dict.fromkeys(addr for _, addr in found))
