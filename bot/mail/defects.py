"""The parser's defect objects as short notes a person can read."""

from __future__ import annotations

import re
from email.message import Message

from bot.mail.mime import iter_parts
from bot.mail.model import Limits

READABLE = {
    "StartBoundaryNotFoundDefect": "multipart boundary never found: the body was read as text",
    "CloseBoundaryNotFoundDefect": "multipart end boundary missing",
    "FirstHeaderLineIsContinuationDefect": "first header line was a continuation line",
    "MisplacedEnvelopeHeaderDefect": "mbox 'From ' line inside the header",
    "MissingHeaderBodySeparatorDefect": "no blank line between header and body",
    "MultipartInvariantViolationDefect": "multipart declared but no parts found",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with a transfer encoding",
    "NoBoundaryInMultipartDefect": "multipart without a boundary parameter",
    "InvalidBase64PaddingDefect": "base64 padding wrong",
    "InvalidBase64CharactersDefect": "invalid characters in base64 data",
    "InvalidBase64LengthDefect": "base64 data of impossible length",
    "UndecodableBytesDefect": "undecodable bytes",
}
"""Notes for the defects of ``email.errors`` that mail in the wild shows."""


def _readable(defect: object) -> str:
    name = type(defect).__name__
    if name in READABLE:
        return READABLE[name]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Defect")).lower()
    return words or name


def describe(msg: Message, limits: Limits) -> list[str]:
    """Readable notes for the defects the parser recorded, each once, in tree order."""
    notes: list[str] = []
    for part, _, _ in iter_parts(msg, limits.max_depth, limits.max_parts):
        for defect in getattr(part, "defects", ()):
            note = _readable(defect)
            if note not in notes:
                notes.append(note)
    return notes
