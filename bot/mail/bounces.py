"""What a bounce says: which message bounced, and for whom (delivery status reports first,
then the returned message, then the words of non-standard bounces)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.message import Message

from bot.mail.headers import address_list, message_id_of, message_ids
from bot.mail.mime import children, content_type, iter_parts, part_text, raw_header
from bot.mail.model import Limits

DAEMON_LOCALPARTS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "maildaemon", "mdaemon"}
)
POSTMASTER_LOCALPARTS = frozenset({"postmaster", "post_master", "post-master"})

COPY_MARKERS = re.compile(
    r"^.*(copy of (the|your) message|original message (follows|as received)|message follows"
    r"|original message -|returned message|^[>\s]*(received|return-path):).*$",
    re.I | re.M,
)
"""Where a plain-text bounce starts quoting the message that bounced."""

RETURNED_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
     "message/global-headers"}
)  # fmt: skip
BODY_MESSAGE_ID = re.compile(r"^[>\s]*message-id:\s*(<[^<>\r\n]+>)", re.I | re.M)
HEADER_MESSAGE_ID = re.compile(r"^message-id:[ \t]*(.*(?:\n[ \t].*)*)", re.I | re.M)
LINE_ANGLE_ADDR = re.compile(r"^[ \t]*<([^<>\s@]+@[^<>\s@]+)>", re.M)
NAMED_ADDR = re.compile(
    r"(?:delivery failed \d+ attempts|recipient address|addressed|mailbox|address)[\s:,]+"
    r"<?([A-Za-z0-9._%+'=-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
    re.I,
)
RECIPIENT_INTRO = re.compile(
    r"(following (recipients?|address(es|\(es\))?|users?)|recipient\(s\)|failed permanently)"
    r"[^\n]{0,60}:[ \t]*$",
    re.I | re.M,
)
TEXT_FINAL_RECIPIENT = re.compile(
    r"^[>\s]*final-recipient:\s*rfc822\s*;\s*<?([^<>\s@]+@[^<>\s@]+?)>?\s*$", re.I | re.M
)
"""A delivery status field in the text: a DSN forwarded inline, or an MTA's plain-text DSN."""
ID_LINES = re.compile(r"^[>\s]*(message-id|references|in-reply-to):.*$", re.I | re.M)
X400_PREFIX = re.compile(r"^(smtp|rfc822)[=:]", re.I)
ANY_ADDR = re.compile(r"[A-Za-z0-9._%+'=-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
BODY_SCAN_CHARS = 4000
MAX_RECIPIENTS = 50


def local_part(addr: str | None) -> str:
    return (addr or "").rpartition("@")[0] or (addr or "")


def bounce_details(
    msg: Message, headers: Mapping[str, str], text: str, limits: Limits
) -> tuple[str | None, tuple[str, ...], bool | None]:
    """The bounced message's id, the failed recipients, and whether the report only says
    "delayed" (None: it does not say)."""
    own = _own_addresses(msg)
    report = _find_report(msg, limits)
    threads = {*message_ids(headers.get("references")), *message_ids(headers.get("in-reply-to"))}
    original = _original_message_id(msg, report, text, limits, headers.get("message-id"),
                                    threads)
    recipients, delayed = _failed_recipients(msg, report, headers, text, own, limits)
    return original, recipients, delayed


def _find_report(msg: Message, limits: Limits) -> Message | None:
    """The first multipart/report, looking inside attached messages too (wrapped bounces)."""
    for part, _, _ in iter_parts(msg, limits.max_depth, limits.max_parts, into_messages=True):
        if content_type(part) == "multipart/report":
            return part
    return None


def _returned_id(part: Message) -> str | None:
    ctype = content_type(part)
    inner = children(part)
    if inner:
        return message_id_of(raw_header(inner[0], "message-id"))
    if ctype in RETURNED_TYPES:
        text, _ = part_text(part)
        found = HEADER_MESSAGE_ID.search(text.replace("\r\n", "\n"))
        return message_id_of(found.group(1)) if found else None
    return None


def _original_message_id(
    msg: Message, report: Message | None, text: str, limits: Limits, own_raw: str | None,
    threads: set[str],
) -> str | None:
    """``threads``: the ids the message's own References name. In a text a person forwards,
    the first Message-ID is the forwarded bounce's, which those name; the returned message's
    comes later. (The ticket is still looked up by them too, so skipping them loses nothing.)"""
    own = message_id_of(own_raw)
    if report is not None:
        for part in children(report):
            if content_type(part) in RETURNED_TYPES:
                found = _returned_id(part)
                if found and found != own:
                    return found
    for part, depth, _ in iter_parts(msg, limits.max_depth, limits.max_parts):
        if depth and content_type(part) in RETURNED_TYPES:
            found = _returned_id(part)
            if found and found != own:
                return found
    status_root = report if report is not None else msg
    for part, _, _ in iter_parts(status_root, limits.max_depth, limits.max_parts):
        if content_type(part) == "message/delivery-status":
            for block in children(part):  # some MTAs put the returned headers here
                found = message_id_of(raw_header(block, "message-id"))
                if found and found != own:
                    return found
    for match in BODY_MESSAGE_ID.finditer(text):
        found = message_id_of(match.group(1))
        if found and found != own and found not in threads:
            return found
    return None


def _own_addresses(msg: Message) -> set[str]:
    own: set[str] = set()
    for name in ("from", "to", "cc", "reply-to", "sender", "delivered-to"):
        own.update(addr for _, addr in address_list(raw_header(msg, name), name, 20))
    return own


def _status_address(value: str | None) -> str | None:
    if not value:
        return None
    addr = value.split(";", 1)[-1].strip().strip("<>").strip().lower()
    return addr if "@" in addr and " " not in addr else None


def _failed_recipients(
    msg: Message,
    report: Message | None,
    headers: Mapping[str, str],
    text: str,
    own: set[str],
    limits: Limits,
) -> tuple[tuple[str, ...], bool | None]:
    found: list[str] = []
    actions: list[str] = []
    root = report if report is not None else msg
    for part, _, _ in iter_parts(root, limits.max_depth, limits.max_parts):
        if content_type(part) != "message/delivery-status":
            continue
        for block in children(part):
            addr = _status_address(raw_header(block, "original-recipient")) or _status_address(
                raw_header(block, "final-recipient")
            )
            action = (raw_header(block, "action") or "").strip().lower()
            if addr and action not in ("delivered", "relayed", "expanded"):
                found.append(addr)
                actions.append(action)
    for addr in (headers.get("x-failed-recipients") or "").replace(";", ",").split(","):
        if "@" in addr:
            found.append(addr.strip().strip("<>").lower())
    if not found:
        found = _body_recipients(text, own)
    recipients = tuple(dict.fromkeys(found))[:MAX_RECIPIENTS]
    delayed = all(a == "delayed" for a in actions) if actions else None
    return recipients, delayed


def _clean_addr(addr: str) -> str:
    return X400_PREFIX.sub("", addr.strip().strip("<>").rstrip(".:,;")).lower()


def _listed_after_intro(preamble: str) -> list[str]:
    """Addresses on the lines that follow "did not reach the following recipient(s):" etc."""
    found: list[str] = []
    for intro in RECIPIENT_INTRO.finditer(preamble):
        lines = preamble[intro.end() :].split("\n")[1:12]
        for line in lines:
            addrs = ANY_ADDR.findall(line)
            if addrs:
                found.extend(addrs)
            elif found and line.strip():
                break
    return found


def _body_recipients(text: str, own: set[str]) -> list[str]:
    """Recipients named in the human-readable part of a non-standard bounce."""
    head = text[:BODY_SCAN_CHARS]
    fields = [_clean_addr(a) for a in TEXT_FINAL_RECIPIENT.findall(head)]
    if fields:
        return fields
    marker = COPY_MARKERS.search(head)
    preamble = ID_LINES.sub("", head[: marker.start()] if marker else head)

    def usable(addr: str) -> bool:
        clean = _clean_addr(addr)
        local = local_part(clean)
        return clean not in own and local not in DAEMON_LOCALPARTS | POSTMASTER_LOCALPARTS

    specific = _listed_after_intro(preamble)
    specific += [m.group(1) for m in LINE_ANGLE_ADDR.finditer(preamble)]
    specific += [m.group(1) for m in NAMED_ADDR.finditer(preamble)]
    chosen = [a for a in specific if usable(a)] or [
        m.group(0) for m in ANY_ADDR.finditer(preamble) if usable(m.group(0))
    ]
    return [_clean_addr(a) for a in chosen]
