"""Reading fetched IMAP messages: envelope addresses from the headers, and the fingerprints that
recognise a message stored before (for a resync after a UIDVALIDITY change)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32


def chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def headers_of(raw: bytes) -> Message:
    return BytesHeaderParser(policy=compat32).parsebytes(raw)


def address(value: object) -> str:
    text = str(value).strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    return text


def fingerprints(raw: bytes) -> Iterable[str]:
    """What identifies a stored message: its exact bytes, and (when it has one) its Message-ID
    with its body, which survives a server that rewrites or adds header lines."""
    out = ["raw:" + hashlib.sha256(raw).hexdigest()]
    message_id = str(headers_of(raw).get("Message-ID", "") or "").strip()
    if message_id:
        body = body_of(raw)
        out.append("mid:" + hashlib.sha256(message_id.encode("utf-8", "surrogateescape")
                                           + b"\0" + body).hexdigest())
    return out


def body_of(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return raw[at + len(sep):].replace(b"\r\n", b"\n")
    return b""
