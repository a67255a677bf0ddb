"""Walk a parsed message: body text (plain preferred, else HTML as text) and attachments."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32

from bot.mail.decode import CONTROL_CHARS, header_text
from bot.mail.html2text import html_to_text
from bot.mail.mime import (
    children,
    content_type,
    disposition,
    filename,
    is_container,
    part_text,
    payload_bytes,
    raw_header,
)
from bot.mail.model import Attachment, Limits

BODY_TYPES = frozenset({"text/plain", "text/html"})

EXTENSIONS = {
    "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "text/csv": ".csv",
    "text/rfc822-headers": ".txt", "message/rfc822": ".eml", "message/global": ".eml",
    "message/delivery-status": ".txt", "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt", "application/pdf": ".pdf", "image/png": ".png",
    "image/jpeg": ".jpg", "image/gif": ".gif", "application/zip": ".zip",
    "application/pkcs7-signature": ".p7s", "application/x-pkcs7-signature": ".p7s",
}  # fmt: skip
"""Extensions for attachments that came without a file name."""

UNSAFE_NAME_CHARS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
MESSAGE_OUT_POLICY = compat32.clone(max_line_length=None)


def sanitize_filename(name: str | None, ctype: str, index: int, cap: int) -> str:
    """A safe base name: no directories, control or reserved characters, length capped."""
    text = header_text(name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = UNSAFE_NAME_CHARS.sub("_", CONTROL_CHARS.sub("", text)).strip(" .")
    if not text:
        text = f"part-{index}{EXTENSIONS.get(ctype, '.bin')}"
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if stem.lower() in RESERVED_NAMES:
        stem = f"_{stem}"
    ext = f".{ext[:16]}" if ext else ""
    return stem[: max(1, cap - len(ext))] + ext


@dataclass
class _Sink:
    """Body pieces in order: (``plain`` | ``html``, text)."""

    pieces: list[tuple[str, str]] = field(default_factory=list)

    def usable(self, kind: str | None = None) -> bool:
        return any(t.strip() and (kind is None or k == kind) for k, t in self.pieces)


@dataclass
class Parts:
    """What the walk found."""

    text: str = ""
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


class _Collector:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.out = Parts()
        self.visited = 0
        self.kept_bytes = 0

    def note(self, text: str) -> None:
        if text not in self.out.defects:
            self.out.defects.append(text)

    def walk(self, part: Message, depth: int, sink: _Sink) -> None:
        self.visited += 1
        if self.visited > self.limits.max_parts:
            self.note(f"only the first {self.limits.max_parts} MIME parts were read")
            return
        ctype = content_type(part)
        if ctype.startswith("message/"):
            self.attach_message(part, ctype)
            return
        if is_container(part):
            if depth >= self.limits.max_depth:
                self.note(f"MIME parts nested deeper than {self.limits.max_depth} levels skipped")
                return
            kids = children(part)
            if ctype == "multipart/alternative":
                self.alternative(kids, depth, sink)
            else:
                for kid in kids:
                    self.walk(kid, depth + 1, sink)
            return
        if ctype.startswith("multipart/"):
            self.note(f"{ctype} without readable parts: read as text")
            ctype = "text/plain"
        disp = disposition(part)
        name = filename(part)
        if ctype in BODY_TYPES and disp != "attachment" and not (name and disp != "inline"):
            text, problem = part_text(part)
            if problem:
                self.note(problem)
            if len(text) > self.limits.max_text_chars:
                self.note(f"body text cut at {self.limits.max_text_chars} characters")
                text = text[: self.limits.max_text_chars]
            sink.pieces.append(("plain" if ctype == "text/plain" else "html", text))
            return
        self.add(name, ctype, payload_bytes(part))

    def alternative(self, kids: list[Message], depth: int, sink: _Sink) -> None:
        subs = []
        for kid in kids:
            sub = _Sink()
            self.walk(kid, depth + 1, sub)
            subs.append(sub)
        chosen = next((s for s in subs if s.usable("plain")), None)
        chosen = chosen or next((s for s in subs if s.usable()), None)
        if chosen is not None:
            sink.pieces.extend(chosen.pieces)
        html = next((s for s in subs if s.usable("html")), None)
        if html is not None and html is not chosen:
            sink.pieces.extend(("html-unused", t) for k, t in html.pieces if k == "html")

    def attach_message(self, part: Message, ctype: str) -> None:
        inner = children(part)
        if ctype == "message/delivery-status" or not inner:
            blocks = inner or []
            text = "\n\n".join(
                "\n".join(f"{k}: {v}" for k, v in block.raw_items()) for block in blocks
            )
            data = text.encode("utf-8", "surrogateescape") if blocks else payload_bytes(part)
            self.add(filename(part), ctype, data)
            return
        buf = io.BytesIO()
        try:
            BytesGenerator(buf, mangle_from_=False, policy=MESSAGE_OUT_POLICY).flatten(inner[0])
        except Exception:
            self.add(filename(part), ctype, b"", skipped="embedded message could not be rebuilt")
            return
        subject = header_text(raw_header(inner[0], "subject"), 80)
        self.add(filename(part) or (f"{subject}.eml" if subject else None), ctype, buf.getvalue())

    def add(self, name: str | None, ctype: str, data: bytes, skipped: str | None = None) -> None:
        limits = self.limits
        index = len(self.out.attachments) + 1
        clean = sanitize_filename(name, ctype, index, limits.max_filename_chars)
        size = len(data)
        if skipped is None and size > limits.max_attachment_bytes:
            skipped = f"larger than the {limits.max_attachment_bytes} byte attachment limit"
        elif skipped is None and self.kept_bytes + size > limits.max_total_attachment_bytes:
            skipped = f"over the {limits.max_total_attachment_bytes} byte total attachment limit"
        if skipped is None:
            self.kept_bytes += size
        else:
            self.note(f"attachment {clean!r} not kept: {skipped}")
        self.out.attachments.append(
            Attachment(
                filename=clean,
                content_type=ctype,
                size=size,
                sha256=hashlib.sha256(data).hexdigest(),
                data=None if skipped else data,
                skipped=skipped,
            )
        )


def collect_parts(msg: Message, limits: Limits) -> Parts:
    """Body text, HTML and attachments of ``msg``, within ``limits``."""
    collector = _Collector(limits)
    sink = _Sink()
    collector.walk(msg, 0, sink)
    out = collector.out
    html = [t for k, t in sink.pieces if k in ("html", "html-unused") and t.strip()]
    out.html = "\n".join(html)[: limits.max_text_chars] if html else None
    texts = [
        t if k == "plain" else html_to_text(t) for k, t in sink.pieces if k in ("plain", "html")
    ]
    out.text = "\n\n".join(t.strip("\n") for t in texts if t.strip())[: limits.max_text_chars]
    return out
