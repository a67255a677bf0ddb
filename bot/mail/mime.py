"""Guarded access to a parsed MIME tree: raw header values, parts, payloads, bounded walks.

Messages are parsed with ``SAFE_POLICY``: the default policy, except that reading a header
returns its raw string (as ``compat32`` does) instead of running the structured header parser,
which raises on malformed input and is superlinear on long values. Callers decode values with
``bot.mail.decode`` and parse addresses on bounded input themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from email.policy import EmailPolicy
from email.utils import collapse_rfc2231_value

from bot.mail.decode import decode_bytes, header_text


class SafePolicy(EmailPolicy):
    """``email.policy.default`` with raw (never raising, linear-time) header reads."""

    def header_fetch_parse(self, name: str, value: str) -> str:  # type: ignore[override]
        return value if isinstance(value, str) else str(value)


SAFE_POLICY = SafePolicy()

HTML_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.I)


def raw_header(msg: Message, name: str) -> str | None:
    """The first raw value of header ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else str(value)
    return None


def header_map(msg: Message, hint: str | None = None) -> dict[str, str]:
    """Lower-cased names to decoded one-line values, first occurrence of each."""
    result: dict[str, str] = {}
    for key, value in msg.raw_items():
        name = key.strip().lower()
        if name and name not in result:
            result[name] = header_text(value if isinstance(value, str) else str(value), None, hint)
    return result


def charset_hint(msg: Message, max_depth: int, max_parts: int) -> str | None:
    """The first non-ASCII charset the message declares, for raw 8-bit header bytes."""
    for part, _, _ in iter_parts(msg, max_depth, max_parts):
        charset = param(part, "charset")
        if charset and charset.lower() not in ("us-ascii", "ascii", "utf-8", "utf8"):
            return charset
    return None


def content_type(part: Message) -> str:
    """``maintype/subtype`` in lower case; ``text/plain`` when missing or invalid."""
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def param(part: Message, name: str, header: str = "content-type") -> str | None:
    """A Content-Type (or other) parameter, RFC 2231 and RFC 2047 decoded."""
    try:
        value = part.get_param(name, header=header)
        if isinstance(value, tuple):
            value = collapse_rfc2231_value(value)
    except Exception:
        return None
    if not isinstance(value, str):
        return None
    return header_text(value) or None


def disposition(part: Message) -> str | None:
    """``inline``, ``attachment`` or None."""
    try:
        value = part.get_content_disposition()
    except Exception:
        return None
    return value.strip().lower() if isinstance(value, str) else None


def filename(part: Message) -> str | None:
    """The part's file name from Content-Disposition ``filename`` or Content-Type ``name``."""
    return param(part, "filename", "content-disposition") or param(part, "name")


def children(part: Message) -> list[Message]:
    """Sub-parts of a multipart or the embedded message(s) of a message/* part."""
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def is_container(part: Message) -> bool:
    return isinstance(part.get_payload(), list)


def payload_bytes(part: Message) -> bytes:
    """The decoded payload of a leaf part (base64, quoted-printable, uuencode undone)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def part_text(part: Message) -> tuple[str, str | None]:
    """A text part decoded to str with its charset (sniffed from HTML meta when undeclared)."""
    data = payload_bytes(part)
    charset = param(part, "charset")
    if charset is None and content_type(part) == "text/html":
        found = HTML_META_CHARSET.search(data[:4096])
        charset = found.group(1).decode("ascii") if found else None
    text, problem = decode_bytes(data, charset)
    return text.replace("\r\n", "\n").replace("\r", "\n"), problem


def iter_parts(
    msg: Message, max_depth: int, max_parts: int, into_messages: bool = False
) -> Iterator[tuple[Message, int, Message | None]]:
    """Parts depth-first as ``(part, depth, parent)``; bounded; embedded messages are entered
    only with ``into_messages`` (message/delivery-status field blocks never)."""
    stack: list[tuple[Message, int, Message | None]] = [(msg, 0, None)]
    seen = 0
    while stack and seen < max_parts:
        part, depth, parent = stack.pop()
        seen += 1
        yield part, depth, parent
        if depth >= max_depth:
            continue
        ctype = content_type(part)
        if ctype == "message/delivery-status":
            continue
        if ctype.startswith("message/") and not into_messages:
            continue
        stack.extend((child, depth + 1, part) for child in reversed(children(part)))
