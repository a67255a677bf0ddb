"""Telling an mbox from one message, and splitting it.

An mbox is messages one after the other, each behind a postmark line ``From SENDER DATE``
(``From jo@acme.example Mon Nov 30 10:00:00 2026``). One message piped by an MTA may start with
a postmark too (Postfix's ``pipe`` adds one), and a body may quote one, so a later message
starts only where a postmark follows a blank line and is itself followed by a header field,
and only when the data starts with a postmark. The messages are kept byte for byte, each with
its postmark (the parser reads it as the envelope line); ``>From`` escapes are left as they are.
"""

from __future__ import annotations

import re

_POSTMARK = re.compile(
    rb"From (?:\"[^\"\r\n]*\"\S*|\S+) +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b[^\r\n]*"
    rb"\b\d{1,2}:\d{2}\b[^\r\n]*\r?\n")
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_AFTER_BLANK = re.compile(rb"\n\r?\n(?=From )")


def _starts_message(raw: bytes, pos: int) -> bool:
    mark = _POSTMARK.match(raw, pos)
    return mark is not None and _FIELD.match(raw, mark.end()) is not None


def split_mbox(raw: bytes) -> list[bytes]:
    """The messages in ``raw``: several when it is an mbox, else ``[raw]``."""
    if not _starts_message(raw, 0):
        return [raw]
    starts = [0] + [m.end() for m in _AFTER_BLANK.finditer(raw) if _starts_message(raw, m.end())]
    return [raw[a:b] for a, b in zip(starts, [*starts[1:], len(raw)], strict=True)]
